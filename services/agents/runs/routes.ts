/** HTTP routes of agent runs, under /api/v1/projects/:projectId/runs, and their WebSocket subscription. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../lib/errors.js';
import { bearerSecurity, errorResponses, principalOf, requireAuth, uuidSchema, type Authenticate } from '../../../lib/http.js';
import type { RealtimeService } from '../../realtime/index.js';
import type { RunEventsHub } from './hub.js';
import { MAX_MESSAGE_CHARS, MAX_STEPS_LIMIT, type RunsService } from './service.js';
import { RUN_STATUSES } from './types.js';

const tags = ['runs'];

const usageSchema = {
  type: 'object',
  properties: {
    inputTokens: { type: 'integer' },
    outputTokens: { type: 'integer' },
    cacheWriteTokens: { type: 'integer' },
    cacheReadTokens: { type: 'integer' },
  },
} as const;

const runSchema = {
  type: 'object',
  properties: {
    id: uuidSchema,
    projectId: uuidSchema,
    status: { type: 'string', enum: [...RUN_STATUSES] },
    goal: { type: 'string' },
    provider: { type: 'string' },
    model: { type: 'string' },
    promptVersion: { type: 'string' },
    steps: { type: 'integer' },
    maxSteps: { type: 'integer' },
    usage: usageSchema,
    costUsd: { type: 'number' },
    reason: { type: ['string', 'null'] },
    pendingApproval: {
      type: ['object', 'null'],
      properties: { callId: { type: 'string' }, name: { type: 'string' }, input: {}, reason: { type: 'string' }, step: { type: 'integer' } },
    },
    webhookUrl: { type: ['string', 'null'] },
    webhookSecret: { type: 'string', description: 'Only in the response that created the run: the key of the webhook signature' },
    createdBy: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

const eventSchema = {
  type: 'object',
  properties: { seq: { type: 'integer' }, type: { type: 'string' }, at: { type: 'string' }, data: {} },
} as const;

const runParams = {
  type: 'object',
  required: ['projectId', 'runId'],
  properties: { projectId: uuidSchema, runId: uuidSchema },
} as const;

const projectParams = { type: 'object', required: ['projectId'], properties: { projectId: uuidSchema } } as const;

type RunParams = { projectId: string; runId: string };

export async function runsRoutes(app: FastifyInstance, opts: { runs: RunsService; authenticate: Authenticate }): Promise<void> {
  const { runs } = opts;
  app.addHook('onRequest', requireAuth(opts.authenticate));
  const security = bearerSecurity;

  app.post<{
    Params: { projectId: string };
    Body: { message: string; provider?: 'anthropic' | 'openai'; model?: string; maxSteps?: number; webhookUrl?: string };
  }>(
    '/projects/:projectId/runs',
    {
      schema: {
        tags,
        summary: 'Starts an agent run on the project (an `Idempotency-Key` header makes a retry return the same run)',
        security,
        params: projectParams,
        body: {
          type: 'object',
          required: ['message'],
          additionalProperties: false,
          properties: {
            message: { type: 'string', minLength: 1, maxLength: MAX_MESSAGE_CHARS },
            provider: { type: 'string', enum: ['anthropic', 'openai'] },
            model: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:/@-]+$' },
            maxSteps: { type: 'integer', minimum: 1, maximum: MAX_STEPS_LIMIT },
            webhookUrl: { type: 'string', maxLength: 2000, description: 'POSTed the run when it completes, fails, needs input or is cancelled; signed with HMAC-SHA256' },
          },
        },
        response: { 200: runSchema, 201: runSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { run, created, webhookSecret } = await runs.start(
        principalOf(request),
        request.params.projectId,
        request.body,
        typeof key === 'string' ? key : undefined,
      );
      return reply.code(created ? 201 : 200).send({ ...run, ...(webhookSecret ? { webhookSecret } : {}) });
    },
  );

  app.get<{ Params: { projectId: string }; Querystring: { limit?: number } }>(
    '/projects/:projectId/runs',
    {
      schema: {
        tags,
        summary: "The project's runs, newest first",
        security,
        params: projectParams,
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200 } } },
        response: { 200: { type: 'object', properties: { runs: { type: 'array', items: runSchema } } }, ...errorResponses },
      },
    },
    async (request) => ({ runs: await runs.list(principalOf(request), request.params.projectId, request.query.limit) }),
  );

  app.get<{ Params: RunParams }>(
    '/projects/:projectId/runs/:runId',
    { schema: { tags, summary: 'One run: status, steps, usage, cost, prompt version', security, params: runParams, response: { 200: runSchema, ...errorResponses } } },
    (request) => runs.get(principalOf(request), request.params.projectId, request.params.runId),
  );

  app.get<{ Params: RunParams; Querystring: { after?: number; limit?: number } }>(
    '/projects/:projectId/runs/:runId/events',
    {
      schema: {
        tags,
        summary: "The run's events after a seq, in order (at most `limit`, 1000 by default)",
        security,
        params: runParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
        response: { 200: { type: 'object', properties: { events: { type: 'array', items: eventSchema } } }, ...errorResponses },
      },
    },
    async (request) => ({
      events: await runs.events(principalOf(request), request.params.projectId, request.params.runId, request.query.after, request.query.limit),
    }),
  );

  const action = (
    path: string,
    summary: string,
    body: Record<string, unknown>,
    handler: (params: RunParams, body: Record<string, unknown>, principal: ReturnType<typeof principalOf>) => Promise<unknown>,
    status = 200,
  ) =>
    app.post<{ Params: RunParams; Body: Record<string, unknown> }>(
      `/projects/:projectId/runs/:runId/${path}`,
      {
        schema: {
          tags,
          summary,
          security,
          params: runParams,
          body: { type: 'object', additionalProperties: false, ...body },
          response: { [status]: path === 'revert' ? { type: 'object', properties: { step: { type: 'integer' }, sha: { type: 'string' } } } : runSchema, ...errorResponses },
        },
      },
      async (request, reply) => reply.code(status).send(await handler(request.params, request.body ?? {}, principalOf(request))),
    );

  action(
    'messages',
    'Sends the run a message (it goes on, or starts again after it completed or needed input)',
    { required: ['message'], properties: { message: { type: 'string', minLength: 1, maxLength: MAX_MESSAGE_CHARS } } },
    (p, body, principal) => runs.message(principal, p.projectId, p.runId, body.message as string),
    202,
  );
  action('approve', 'Lets the call that waits for approval run', { properties: {} }, (p, _body, principal) =>
    runs.approve(principal, p.projectId, p.runId),
  );
  action('deny', 'Refuses the call that waits for approval (the agent is told why)', { properties: { reason: { type: 'string', maxLength: 2000 } } }, (p, body, principal) =>
    runs.deny(principal, p.projectId, p.runId, body.reason as string | undefined),
  );
  action('cancel', 'Cancels the run (within a second, even mid-stream)', { properties: {} }, (p, _body, principal) =>
    runs.cancel(principal, p.projectId, p.runId),
  );
  action(
    'revert',
    "Puts the workspace's files back exactly as they were after a step of this run",
    { required: ['step'], properties: { step: { type: 'integer', minimum: 0 } } },
    (p, body, principal) => runs.revert(principal, p.projectId, p.runId, body.step as number),
  );

  app.get<{ Params: RunParams & { step: number } }>(
    '/projects/:projectId/runs/:runId/steps/:step/diff',
    {
      schema: {
        tags,
        summary: 'What a step changed: each file before and after (small text files)',
        security,
        params: { ...runParams, required: [...runParams.required, 'step'], properties: { ...runParams.properties, step: { type: 'integer', minimum: 1 } } },
      },
    },
    (request) => runs.diff(principalOf(request), request.params.projectId, request.params.runId, request.params.step),
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_RUN_SUBSCRIPTIONS = 50;

/**
 * `run.subscribe {projectId, runId, after}`: the run's events after `after`, then live ones, as
 * `run.event {projectId, runId, event}`, each once and in order; `run.unsubscribe {runId}` ends it.
 */
export function registerRunStreaming(realtime: RealtimeService, runs: RunsService, hub: RunEventsHub): void {
  const byConnection = new WeakMap<object, Map<string, Promise<() => void>>>();
  const subscriptionsOf = (connection: object) => {
    let map = byConnection.get(connection);
    if (!map) byConnection.set(connection, (map = new Map()));
    return map;
  };

  realtime.handle('run.subscribe', async (connection, message) => {
    const { projectId, runId } = message;
    const after = message.after ?? 0;
    if (typeof projectId !== 'string' || typeof runId !== 'string' || !UUID.test(runId)) {
      throw new AppError('VALIDATION_FAILED', 'run.subscribe needs a projectId and a runId');
    }
    if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) {
      throw new AppError('VALIDATION_FAILED', 'after must be a non-negative integer (the last seq seen)');
    }
    const subscriptions = subscriptionsOf(connection);
    if (subscriptions.has(runId)) throw new AppError('CONFLICT', 'Already subscribed to this run; unsubscribe first to start again');
    if (subscriptions.size >= MAX_RUN_SUBSCRIPTIONS) throw new AppError('RATE_LIMITED', `At most ${MAX_RUN_SUBSCRIPTIONS} runs per connection`);
    const first = subscriptions.size === 0;
    const pending = (async () => {
      await runs.row(connection.principal, projectId, runId, 'read');
      return hub.subscribe(runId, after, (event) => connection.send({ type: 'run.event', projectId, runId, event }));
    })();
    subscriptions.set(runId, pending);
    if (first) {
      connection.onClose(() => {
        for (const stop of subscriptions.values()) stop.then((fn) => fn(), () => {});
        subscriptions.clear();
      });
    }
    try {
      await pending;
    } catch (err) {
      subscriptions.delete(runId);
      throw err;
    }
    connection.send({ type: 'run.subscribed', projectId, runId, ...(typeof message.id === 'string' ? { replyTo: message.id } : {}) });
  });

  realtime.handle('run.unsubscribe', (connection, message) => {
    const subscriptions = subscriptionsOf(connection);
    const runId = message.runId;
    if (typeof runId !== 'string') throw new AppError('VALIDATION_FAILED', 'run.unsubscribe needs a runId');
    const pending = subscriptions.get(runId);
    if (!pending) return;
    subscriptions.delete(runId);
    pending.then((stop) => stop(), () => {});
    connection.send({ type: 'run.unsubscribed', runId });
  });
}
