/** HTTP routes of a project's agent approval policy, under /api/v1/projects/:projectId/agent-policy. */
import type { FastifyInstance } from 'fastify';
import { bearerSecurity, errorResponses, principalOf, projectIdParams, requireAuth, type Authenticate } from '../../lib/http.js';
import type { ApprovalPolicies } from './approval-policies.js';
import type { ApprovalPolicy } from './tools/approval.js';

const tags = ['agents'];

const policySchema = {
  type: 'object',
  required: ['mode', 'maxIrDeletes', 'maxDeletePaths'],
  additionalProperties: false,
  properties: {
    mode: {
      type: 'string',
      enum: ['destructive', 'all', 'none'],
      description: 'destructive: destructive commands and mass deletes wait for a person (default); all: every change waits; none: nothing waits',
    },
    maxIrDeletes: { type: 'integer', minimum: 0, maximum: 10000, description: 'An IR change deleting more files than this waits' },
    maxDeletePaths: { type: 'integer', minimum: 0, maximum: 10000, description: 'A command deleting more paths than this at once waits' },
  },
} as const;

export async function policyRoutes(app: FastifyInstance, opts: { policies: ApprovalPolicies; authenticate: Authenticate }): Promise<void> {
  const { policies } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));

  app.get<{ Params: { projectId: string } }>(
    '/projects/:projectId/agent-policy',
    {
      schema: {
        tags,
        summary: "Which of the agents' tool calls wait for a person in this project",
        security: bearerSecurity,
        params: projectIdParams,
        response: { 200: policySchema, ...errorResponses },
      },
    },
    (request) => policies.get(principalOf(request), request.params.projectId),
  );

  app.put<{ Params: { projectId: string }; Body: Partial<ApprovalPolicy> }>(
    '/projects/:projectId/agent-policy',
    {
      schema: {
        tags,
        summary: "Sets the project's approval policy (admins); fields left out take their defaults",
        security: bearerSecurity,
        params: projectIdParams,
        body: { ...policySchema, required: [] },
        response: { 200: policySchema, ...errorResponses },
      },
    },
    (request) => policies.set(principalOf(request), request.params.projectId, request.body),
  );
}
