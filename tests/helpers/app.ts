/**
 * A real Vaporform API for a test file: its own database, the machine's Docker engine, the shared Temporal
 * dev server, listening on a free port of 127.0.0.1. Requests go over real HTTP.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../lib/config.js';
import { createEventBus, type EventBus } from '../../lib/event-bus.js';
import { createObjectStore } from '../../lib/object-store.js';
import { MemoryRateLimiter, type RateLimiter } from '../../lib/rate-limiter.js';
import { postgresImageName, redisImageName, sandboxImageName } from '../../sandbox-images/names.js';
import { buildApp, createServices, type Infrastructure, type Services } from '../../services/gateway/app.js';
import { createDockerClient } from '../../services/containers/index.js';
import { TemporalClient } from '../../workflows/client.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface TestApp {
  app: FastifyInstance;
  baseUrl: string;
  config: Config;
  /** The environment the configuration was read from (a worker process started with it acts as this app). */
  env: Record<string, string>;
  infra: Infrastructure;
  services: Services;
  database: TestDatabase;
  /**
   * Errors the services reported in the background. close() fails when any is left: a test that provokes one
   * takes it out (`backgroundErrors.splice(0)`) and asserts on it.
   */
  backgroundErrors: unknown[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment variables on top of the test defaults (see `loadConfig`). */
  env?: Record<string, string>;
  /** Use Redis for the event bus (the multi-instance set-up). */
  redis?: boolean;
  limiter?: RateLimiter;
  /** Share a database with another test app (two API instances). */
  database?: TestDatabase;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    JWT_SECRET: randomBytes(32).toString('hex'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    // A low cost keeps the suite fast; auth.passwords.test.ts checks the default of 12 on its own app.
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    DATA_DIR: '.data/test',
    OBJECTS_DIR: path.join(os.tmpdir(), `vaporform-objects-${process.pid}`),
    SANDBOX_IMAGE_TAG: inject('imageTag'),
    ...(options.redis ? { REDIS_URL: inject('redisUrl') } : {}),
    ...options.env,
  };
  const loaded = loadConfig(env);
  // The images the global setup built, with their download cache (under the real DATA_DIR, not the tests').
  const config: Config = { ...loaded, images: { ...loaded.images, cacheDir: inject('imageSettings').cacheDir } };
  const backgroundErrors: unknown[] = [];
  const onError = (err: unknown) => backgroundErrors.push(err);
  const bus: EventBus = await createEventBus(config.redisUrl, onError);
  const infra: Infrastructure = {
    config,
    db: database.db,
    bus,
    docker: createDockerClient(config.docker),
    temporal: new TemporalClient(config.temporal),
    limiter: options.limiter ?? new MemoryRateLimiter(),
    objects: createObjectStore(config),
    imageFor: (stack) => sandboxImageName(stack, config.images.tag),
    postgresImage: postgresImageName(config.images.tag),
    redisImage: redisImageName(config.images.tag),
  };
  const services = createServices(infra, onError);
  const app = await buildApp(infra, services, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    config,
    env,
    infra,
    services,
    database,
    backgroundErrors,
    async close() {
      await app.close();
      await bus.close();
      await infra.temporal.close();
      if (!options.database) await database.drop();
      if (backgroundErrors.length > 0) {
        const listed = backgroundErrors.map((err) => (err instanceof Error ? (err.stack ?? err.message) : JSON.stringify(err)));
        throw new Error(`The services reported ${backgroundErrors.length} unexpected background error(s):\n${listed.join('\n')}`);
      }
    },
  };
}
