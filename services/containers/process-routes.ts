/**
 * HTTP routes of managed processes, under /api/v1/projects/:projectId/processes (needs "execute"): start a
 * command that runs on in the sandbox, list them, read one, its output by byte offsets, wait for it, stop it.
 */
import type { FastifyInstance } from 'fastify';
import type { StartProcessRequest } from '../../lib/api-types.js';
import { bearerSecurity, errorResponses, principalOf, projectIdParams, requireAuth, uuidSchema, type Authenticate } from '../../lib/http.js';
import { MAX_OUTPUT_READ_BYTES, MAX_PROCESS_COMMAND_BYTES, MAX_WAIT_MS } from './process-client.js';
import type { ContainersService } from './service.js';

const tags = ['processes'];

const processSchema = {
  type: 'object',
  required: ['id', 'command', 'cwd', 'status', 'exitCode', 'startedAt', 'exitedAt', 'ports'],
  properties: {
    id: { type: 'string' },
    command: { type: 'string', description: 'Run by `sh -c` in its own process group' },
    cwd: { type: 'string' },
    status: { type: 'string', enum: ['running', 'exited'] },
    exitCode: { type: ['integer', 'null'], description: '128 + the signal when a signal ended it' },
    startedAt: { type: 'string', format: 'date-time' },
    exitedAt: { type: ['string', 'null'], format: 'date-time' },
    ports: { type: 'array', items: { type: 'integer' }, description: 'TCP ports the process or its children listen on' },
  },
} as const;

const processParams = {
  type: 'object',
  required: ['projectId', 'processId'],
  additionalProperties: false,
  properties: { projectId: uuidSchema, processId: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } },
} as const;

const startBodySchema = {
  type: 'object',
  required: ['command'],
  additionalProperties: false,
  properties: {
    command: { type: 'string', minLength: 1, maxLength: MAX_PROCESS_COMMAND_BYTES, description: 'A shell command line, run by `sh -c`' },
    cwd: { type: 'string', maxLength: 4096, description: 'Inside /workspace; relative paths start there' },
    env: { type: 'object', maxProperties: 200, additionalProperties: { type: 'string', maxLength: 65536 } },
  },
} as const;

type ProcessParams = { projectId: string; processId: string };

export async function processRoutes(app: FastifyInstance, opts: { containers: ContainersService; authenticate: Authenticate }): Promise<void> {
  const { containers } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));

  app.post<{ Params: { projectId: string }; Body: StartProcessRequest }>(
    '/projects/:projectId/processes',
    {
      schema: {
        tags,
        summary: 'Start a command that runs on in the sandbox (a server, a watcher); at most 32 run at once',
        security: bearerSecurity,
        params: projectIdParams,
        body: startBodySchema,
        response: { 201: processSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const info = await containers.startProcess(principalOf(request), request.params.projectId, request.body);
      reply.code(201);
      return info;
    },
  );

  app.get<{ Params: { projectId: string } }>(
    '/projects/:projectId/processes',
    {
      schema: {
        tags,
        summary: "The sandbox's processes, running and recently exited, oldest first",
        security: bearerSecurity,
        params: projectIdParams,
        response: {
          200: { type: 'object', required: ['processes'], properties: { processes: { type: 'array', items: processSchema } } },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ processes: await containers.listProcesses(principalOf(request), request.params.projectId) }),
  );

  const one = (summary: string) => ({
    schema: { tags, summary, security: bearerSecurity, params: processParams, response: { 200: processSchema, ...errorResponses } },
  });

  app.get<{ Params: ProcessParams }>('/projects/:projectId/processes/:processId', one('A process, with the ports it listens on'), (request) =>
    containers.getProcess(principalOf(request), request.params.projectId, request.params.processId),
  );

  app.post<{ Params: ProcessParams }>(
    '/projects/:projectId/processes/:processId/stop',
    one('Stop a process: TERM to its whole process group, KILL two seconds later to what is left'),
    (request) => containers.stopProcess(principalOf(request), request.params.projectId, request.params.processId),
  );

  app.post<{ Params: ProcessParams; Querystring: { timeoutMs: number } }>(
    '/projects/:projectId/processes/:processId/wait',
    {
      schema: {
        ...one('The process once it exited, or as it is when timeoutMs passed').schema,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { timeoutMs: { type: 'integer', minimum: 0, maximum: MAX_WAIT_MS, default: 10_000 } },
        },
      },
    },
    (request) =>
      containers.waitProcess(principalOf(request), request.params.projectId, request.params.processId, { timeoutMs: request.query.timeoutMs }),
  );

  app.get<{ Params: ProcessParams; Querystring: { after: number; limit: number } }>(
    '/projects/:projectId/processes/:processId/output',
    {
      schema: {
        tags,
        summary: 'Output (stdout and stderr interleaved) from a byte offset on; the last 1 MiB of each process is kept',
        security: bearerSecurity,
        params: processParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, default: 0, description: 'A byte offset: `next` of the previous read' },
            limit: { type: 'integer', minimum: 1, maximum: MAX_OUTPUT_READ_BYTES, default: 65536 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['output', 'from', 'next', 'truncatedBefore'],
            properties: {
              output: { type: 'string' },
              from: { type: 'integer' },
              next: { type: 'integer', description: 'The offset to ask for next' },
              truncatedBefore: { type: 'boolean', description: 'Output older than the kept window was asked for and is gone' },
            },
          },
          ...errorResponses,
        },
      },
    },
    (request) =>
      containers.processOutput(principalOf(request), request.params.projectId, request.params.processId, {
        after: request.query.after,
        limit: request.query.limit,
      }),
  );
}
