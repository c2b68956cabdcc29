/**
 * POST /api/v1/projects/:projectId/preview: the caller's preview origin of the project and the URL that
 * opens it; DELETE gives the caller a fresh origin (the old address stops answering). The preview itself is
 * served by preview-proxy.ts on that origin.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerSecurity, errorResponses, principalOf, projectIdParams, requireAuth, type Authenticate } from '../../lib/http.js';
import type { PreviewService, RequestOrigin } from './preview.js';

function requestOrigin(request: FastifyRequest): RequestOrigin {
  const port = /:(\d+)$/.exec(request.headers.host ?? '')?.[1] ?? '';
  return { scheme: request.protocol === 'https' ? 'https' : 'http', port };
}

export async function previewRoutes(app: FastifyInstance, opts: { preview: PreviewService; authenticate: Authenticate }): Promise<void> {
  const { preview } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));

  app.post<{ Params: { projectId: string } }>(
    '/projects/:projectId/preview',
    {
      schema: {
        tags: ['sandboxes'],
        summary: "The caller's preview of the project: an origin of its own that serves the sandbox's preview port",
        security: bearerSecurity,
        params: projectIdParams,
        response: {
          200: {
            type: 'object',
            required: ['url', 'origin', 'port'],
            properties: {
              url: { type: 'string', description: 'Opens the preview (in a frame or a tab)' },
              origin: { type: 'string' },
              port: { type: 'integer', description: 'The port in the sandbox it serves' },
            },
          },
          ...errorResponses,
        },
      },
    },
    (request) => preview.open(principalOf(request), request.params.projectId, requestOrigin(request)),
  );

  app.get<{ Params: { projectId: string } }>(
    '/projects/:projectId/preview/status',
    {
      schema: {
        tags: ['sandboxes'],
        summary: 'What the preview serves now: the port, whether anything listens there, and which process',
        security: bearerSecurity,
        params: projectIdParams,
        response: {
          200: {
            type: 'object',
            required: ['port', 'listening', 'process'],
            properties: {
              port: { type: 'integer', description: 'The port in the sandbox the preview serves (it follows a managed process that listens)' },
              listening: { type: ['boolean', 'null'], description: 'null: the sandbox could not say' },
              process: {
                type: ['object', 'null'],
                required: ['command'],
                properties: {
                  processId: { type: 'string', description: 'The managed process (processes API), when it is one' },
                  pid: { type: 'integer' },
                  command: { type: 'string' },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    (request) => preview.serving(principalOf(request), request.params.projectId),
  );

  app.delete<{ Params: { projectId: string } }>(
    '/projects/:projectId/preview',
    {
      schema: {
        tags: ['sandboxes'],
        summary: "Retires the caller's preview address of the project; the next POST gives a new one",
        security: bearerSecurity,
        params: projectIdParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await preview.rotate(principalOf(request), request.params.projectId);
      reply.code(204).send();
    },
  );
}
