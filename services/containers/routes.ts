/** HTTP routes of the containers service: a project's sandbox and exec, under /api/v1/projects/:projectId. */
import type { FastifyInstance } from 'fastify';
import {
  bearerSecurity,
  dateTimeSchema,
  errorResponses,
  projectIdParams,
  principalOf,
  requireAuth,
  uuidSchema,
  type Authenticate,
} from '../../lib/http.js';
import type { ExecRequest } from './exec.js';
import type { ContainersService } from './service.js';

const tags = ['sandboxes'];

const statusSchema = {
  type: 'object',
  required: ['projectId', 'state', 'image', 'containerId', 'startedAt', 'lastUsedAt', 'limits'],
  properties: {
    projectId: uuidSchema,
    state: { type: 'string', enum: ['absent', 'created', 'running', 'paused', 'stopped'] },
    image: { type: ['string', 'null'] },
    containerId: { type: ['string', 'null'] },
    startedAt: { type: ['string', 'null'], format: 'date-time' },
    lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
    limits: {
      type: ['object', 'null'],
      properties: { memoryBytes: { type: 'integer' }, cpus: { type: 'number' }, pids: { type: 'integer' } },
    },
  },
} as const;

/** How long a command may run when the request names no timeout (or the deployment's longest, if shorter). */
const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

const execBodySchema = {
  type: 'object',
  required: ['command'],
  additionalProperties: false,
  properties: {
    command: {
      description: 'An argv array run as is, or a string run by `sh -c`',
      anyOf: [
        { type: 'string', minLength: 1, maxLength: 65536 },
        { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', maxLength: 65536 } },
      ],
    },
    cwd: { type: 'string', maxLength: 4096, description: 'Inside /workspace; relative paths start there' },
    env: { type: 'object', maxProperties: 200, additionalProperties: { type: 'string', maxLength: 65536 } },
    timeoutMs: {
      type: 'integer',
      minimum: 100,
      description: 'At most EXEC_MAX_TIMEOUT_SECONDS; 30 s (or that maximum, if lower) when absent',
    },
    stdin: { type: 'string', maxLength: 1048576 },
  },
} as const;

const execResultSchema = {
  type: 'object',
  required: ['exitCode', 'stdout', 'stderr', 'stdoutTruncated', 'stderrTruncated', 'timedOut', 'durationMs'],
  properties: {
    exitCode: { type: 'integer' },
    stdout: { type: 'string' },
    stderr: { type: 'string' },
    stdoutTruncated: { type: 'boolean' },
    stderrTruncated: { type: 'boolean' },
    timedOut: { type: 'boolean' },
    durationMs: { type: 'integer' },
  },
} as const;

export async function containersRoutes(
  app: FastifyInstance,
  opts: { containers: ContainersService; authenticate: Authenticate },
): Promise<void> {
  const { containers } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));

  const lifecycle = (summary: string) => ({
    schema: { tags, summary, security: bearerSecurity, params: projectIdParams, response: { 200: statusSchema, ...errorResponses } },
  });

  app.get<{ Params: { projectId: string } }>('/projects/:projectId/sandbox', lifecycle('The sandbox and its state'), (request) =>
    containers.status(principalOf(request), request.params.projectId),
  );
  app.post<{ Params: { projectId: string } }>(
    '/projects/:projectId/sandbox/start',
    lifecycle('Create (if need be) and start the sandbox; resumes a paused one'),
    (request) => containers.start(principalOf(request), request.params.projectId),
  );
  app.post<{ Params: { projectId: string } }>('/projects/:projectId/sandbox/stop', lifecycle('Stop the sandbox'), (request) =>
    containers.stop(principalOf(request), request.params.projectId),
  );
  app.post<{ Params: { projectId: string } }>(
    '/projects/:projectId/sandbox/restart',
    lifecycle('Restart the sandbox'),
    (request) => containers.restart(principalOf(request), request.params.projectId),
  );

  app.delete<{ Params: { projectId: string } }>(
    '/projects/:projectId/sandbox',
    {
      schema: {
        tags,
        summary: 'Remove the sandbox container (needs "admin"); the workspace is kept for the next one',
        security: bearerSecurity,
        params: projectIdParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await containers.removeContainer(principalOf(request), request.params.projectId);
      reply.code(204).send();
    },
  );

  app.get<{ Params: { projectId: string } }>(
    '/projects/:projectId/sandbox/stats',
    {
      schema: {
        tags,
        summary: 'Live CPU, memory and process counts',
        security: bearerSecurity,
        params: projectIdParams,
        response: {
          200: {
            type: 'object',
            required: ['cpuPercent', 'memoryBytes', 'memoryLimitBytes', 'pids'],
            properties: {
              cpuPercent: { type: 'number' },
              memoryBytes: { type: 'integer' },
              memoryLimitBytes: { type: 'integer' },
              pids: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    (request) => containers.stats(principalOf(request), request.params.projectId),
  );

  app.get<{ Params: { projectId: string }; Querystring: { tail: number } }>(
    '/projects/:projectId/sandbox/logs',
    {
      schema: {
        tags,
        summary: "The sandbox's own output, newest last",
        security: bearerSecurity,
        params: projectIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { tail: { type: 'integer', minimum: 1, maximum: 10000, default: 200 } },
        },
        response: {
          200: { type: 'object', required: ['logs'], properties: { logs: { type: 'string' }, at: dateTimeSchema } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      logs: await containers.logs(principalOf(request), request.params.projectId, request.query.tail),
      at: new Date().toISOString(),
    }),
  );

  app.post<{ Params: { projectId: string }; Body: ExecRequest }>(
    '/projects/:projectId/exec',
    {
      schema: {
        tags,
        summary: 'Run a command in the sandbox (needs "execute"); output is capped, with a truncation flag',
        security: bearerSecurity,
        params: projectIdParams,
        body: execBodySchema,
        response: { 200: execResultSchema, ...errorResponses },
      },
    },
    (request) =>
      containers.exec(principalOf(request), request.params.projectId, {
        ...request.body,
        timeoutMs: request.body.timeoutMs ?? Math.min(DEFAULT_EXEC_TIMEOUT_MS, containers.maxExecTimeoutMs),
      }),
  );
}
