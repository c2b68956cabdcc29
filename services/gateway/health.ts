/** Liveness (`/health`: the process answers) and readiness (`/ready`: every component it needs answers). */
import type { FastifyInstance } from 'fastify';

export type ComponentCheck = () => Promise<void>;

interface ComponentStatus {
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

const CHECK_TIMEOUT_MS = 3000;

/** A check whose outcome (up or down) is reused for `ttlMs`: for checks that cost more than a ping. */
export function cachedCheck(check: ComponentCheck, ttlMs: number): ComponentCheck {
  let last: { at: number; outcome: Promise<void> } | undefined;
  return () => {
    if (!last || Date.now() - last.at >= ttlMs) {
      const outcome = check();
      outcome.catch(() => {}); // observed by whoever asks; a failure cached here is not unhandled
      last = { at: Date.now(), outcome };
    }
    return last.outcome;
  };
}

async function runCheck(check: ComponentCheck): Promise<ComponentStatus> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      error: err instanceof Error ? err.message : String(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

const componentSchema = {
  type: 'object',
  required: ['status', 'latencyMs'],
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    latencyMs: { type: 'integer' },
    error: { type: 'string' },
  },
} as const;

export function registerHealth(app: FastifyInstance, checks: Record<string, ComponentCheck>): void {
  const startedAt = Date.now();

  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process is up',
        response: {
          200: {
            type: 'object',
            required: ['status', 'uptimeSeconds'],
            properties: { status: { type: 'string', enum: ['ok'] }, uptimeSeconds: { type: 'integer' } },
          },
        },
      },
    },
    async () => ({ status: 'ok' as const, uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000) }),
  );

  const readySchema = {
    type: 'object',
    required: ['status', 'components'],
    properties: {
      status: { type: 'string', enum: ['ready', 'unavailable'] },
      components: { type: 'object', additionalProperties: componentSchema },
    },
  } as const;

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: each component (Postgres, Temporal, Docker, the sandbox images) reported; 503 when one is down',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((name) => runCheck(checks[name]!)));
      const components = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
      const ready = results.every((result) => result.status === 'up');
      reply.code(ready ? 200 : 503);
      return { status: ready ? ('ready' as const) : ('unavailable' as const), components };
    },
  );
}
