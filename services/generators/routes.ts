/** HTTP route of the generators service: POST /api/v1/projects/:projectId/generate. */
import type { FastifyInstance } from 'fastify';
import { bearerSecurity, errorResponses, principalOf, projectIdParams, requireAuth, type Authenticate } from '../../lib/http.js';
import type { GeneratorOptions } from './plugin.js';
import type { GenerateService } from './service.js';

export async function generatorsRoutes(
  app: FastifyInstance,
  opts: { generate: GenerateService; authenticate: Authenticate },
): Promise<void> {
  app.addHook('onRequest', requireAuth(opts.authenticate));
  app.post<{ Params: { projectId: string }; Body: { generator?: string; options?: GeneratorOptions; allowDestructive?: boolean } }>(
    '/projects/:projectId/generate',
    {
      schema: {
        tags: ['generators'],
        summary: "Turn the project's IR into code in its workspace; hand-edited files are kept (conflicts reported)",
        security: bearerSecurity,
        params: projectIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            generator: { type: 'string', maxLength: 100, description: "Default: the built-in for the IR's stack" },
            options: { type: 'object', additionalProperties: true },
            allowDestructive: {
              type: 'boolean',
              description: 'Emit migrations that lose data (drop a column or table, change a type); without it such a change fails with DESTRUCTIVE_CHANGE and nothing is written',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['generator', 'version', 'written', 'unchanged', 'kept', 'conflicts', 'orphaned', 'warnings', 'durationMs'],
            properties: {
              generator: { type: 'string' },
              version: { type: 'string' },
              written: { type: 'array', items: { type: 'string' } },
              unchanged: { type: 'integer' },
              kept: { type: 'array', items: { type: 'string' }, description: 'Hand-edited generated files left alone: their generated output did not change' },
              conflicts: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { path: { type: 'string' }, besidePath: { type: 'string' }, reason: { type: 'string' } },
                },
              },
              orphaned: { type: 'array', items: { type: 'string' } },
              warnings: { type: 'array', items: { type: 'string' } },
              durationMs: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    (request) => opts.generate.generate(principalOf(request), request.params.projectId, request.body ?? {}),
  );
}
