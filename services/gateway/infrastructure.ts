/** The real components from the configuration, as the API process and the worker process both build them. */
import { Redis } from 'ioredis';
import type { Config } from '../../lib/config.js';
import { createPool } from '../../lib/db.js';
import { createEventBus } from '../../lib/event-bus.js';
import { createObjectStore } from '../../lib/object-store.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from '../../lib/rate-limiter.js';
import { postgresImageName, redisImageName, sandboxImageName } from '../../sandbox-images/names.js';
import { TemporalClient } from '../../workflows/client.js';
import { createDockerClient, type Stack } from '../containers/index.js';
import type { Infrastructure } from './app.js';

export async function createInfrastructure(
  config: Config,
  onError: (err: unknown) => void,
): Promise<{ infra: Infrastructure; close: () => Promise<void> }> {
  const db = createPool(config.databaseUrl, config.dbPoolMax);
  const bus = await createEventBus(config.redisUrl, onError);
  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }) : undefined;
  redis?.on('error', onError);
  const limiter: RateLimiter = redis ? new RedisRateLimiter(redis) : new MemoryRateLimiter();
  const infra: Infrastructure = {
    config,
    db,
    bus,
    limiter,
    docker: createDockerClient(config.docker),
    temporal: new TemporalClient(config.temporal),
    objects: createObjectStore(config),
    imageFor: (stack: Stack) => sandboxImageName(stack, config.images.tag),
    postgresImage: postgresImageName(config.images.tag),
    redisImage: redisImageName(config.images.tag),
  };
  const close = async () => {
    await Promise.allSettled([bus.close(), db.end(), infra.temporal.close()]);
    redis?.disconnect();
  };
  return { infra, close };
}
