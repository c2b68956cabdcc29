/** HTTP routes of the IR service, under /api/v1/projects/:projectId/ir. */
import type { FastifyInstance } from 'fastify';
import {
  bearerSecurity,
  errorResponses,
  principalOf,
  projectIdParams,
  requireAuth,
  type Authenticate,
} from '../../lib/http.js';
import type { ProjectIrService } from './project-ir.js';
import type { FileChanges } from './service.js';

const tags = ['ir'];

const changesBody = {
  type: 'object',
  required: ['changes'],
  additionalProperties: false,
  properties: {
    changes: {
      type: 'object',
      description: 'ir/**.yaml path -> its new text, or null to delete it',
      minProperties: 1,
      maxProperties: 200,
      additionalProperties: { type: ['string', 'null'], maxLength: 1048576 },
    },
  },
} as const;

// Diagnostics, models and diffs are rich documents: described here loosely, their types live in services/ir.
const diagnosticsSchema = { type: 'array', items: { type: 'object', additionalProperties: true } } as const;
const outcomeSchema = {
  type: 'object',
  required: ['valid', 'diagnostics', 'diff'],
  properties: {
    valid: { type: 'boolean' },
    diagnostics: diagnosticsSchema,
    diff: { type: 'object', additionalProperties: true },
  },
} as const;

export async function irRoutes(
  app: FastifyInstance,
  opts: { ir: ProjectIrService; authenticate: Authenticate },
): Promise<void> {
  const { ir } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));

  app.get<{ Params: { projectId: string } }>(
    '/projects/:projectId/ir',
    {
      schema: {
        tags,
        summary: "The project's domain model, merged from ir/**.yaml, with its diagnostics",
        security: bearerSecurity,
        params: projectIdParams,
        response: {
          200: {
            type: 'object',
            required: ['valid', 'model', 'diagnostics', 'files'],
            properties: {
              valid: { type: 'boolean' },
              model: { type: 'object', additionalProperties: true },
              diagnostics: diagnosticsSchema,
              files: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    (request) => ir.read(principalOf(request), request.params.projectId),
  );

  app.post<{ Params: { projectId: string }; Body: { changes: FileChanges } }>(
    '/projects/:projectId/ir/validate',
    {
      schema: {
        tags,
        summary: 'Validate a proposed change and describe it as a structural diff, without writing it',
        security: bearerSecurity,
        params: projectIdParams,
        body: changesBody,
        response: { 200: outcomeSchema, ...errorResponses },
      },
    },
    (request) => ir.preview(principalOf(request), request.params.projectId, request.body.changes),
  );

  app.post<{ Params: { projectId: string }; Body: { changes: FileChanges } }>(
    '/projects/:projectId/ir/changes',
    {
      schema: {
        tags,
        summary: 'Write a change to the IR, only if the model stays valid (422 with the diagnostics otherwise)',
        security: bearerSecurity,
        params: projectIdParams,
        body: changesBody,
        response: { 200: outcomeSchema, ...errorResponses },
      },
    },
    (request) => ir.apply(principalOf(request), request.params.projectId, request.body.changes),
  );
}
