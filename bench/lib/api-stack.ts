/**
 * The API with real sandboxes for a benchmark: a private PostgreSQL (fsync off: durability is not measured) in a
 * temp dir, the services in this process on a free port of 127.0.0.1, no Temporal. `close` removes it all.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, startPostgres, stopAll } from '../../infra/lib/components.mjs';
import { ensurePostgres } from '../../infra/lib/prereqs.mjs';
import { loadConfig } from '../../lib/config.js';
import { createPool } from '../../lib/db.js';
import { InProcessEventBus } from '../../lib/event-bus.js';
import { migrate } from '../../lib/migrate.js';
import { LocalObjectStore } from '../../lib/object-store.js';
import { MemoryRateLimiter } from '../../lib/rate-limiter.js';
import { sandboxImageName } from '../../sandbox-images/names.js';
import { createDockerClient } from '../../services/containers/index.js';
import { buildApp, createServices } from '../../services/gateway/app.js';
import { migrationSources } from '../../services/gateway/migrations.js';
import { TemporalClient } from '../../workflows/client.js';

export async function startApiStack(label: string, env: Record<string, string> = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `vaporform-bench-${label}-`));
  chmodSync(dir, 0o755);
  const postgres = await startPostgres({
    bin: ensurePostgres(),
    dataDir: path.join(dir, 'postgres'),
    port: await freePort(),
    logFile: path.join(dir, 'postgres.log'),
    database: 'vaporform',
    fsync: false,
  });
  const config = loadConfig({
    ...env,
    DATABASE_URL: postgres.url,
    JWT_SECRET: randomBytes(32).toString('hex'),
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    DATA_DIR: dir,
    TEMPORAL_ADDRESS: '127.0.0.1:1',
  });
  const db = createPool(config.databaseUrl, 10);
  await migrate(db, migrationSources);
  const infra = {
    config,
    db,
    bus: new InProcessEventBus(() => {}),
    docker: createDockerClient(config.docker),
    temporal: new TemporalClient(config.temporal),
    limiter: new MemoryRateLimiter(),
    objects: new LocalObjectStore(path.join(dir, 'objects')),
    imageFor: (stack: 'node' | 'python' | 'go') => sandboxImageName(stack, config.images.tag),
  };
  const services = createServices(infra, (err) => console.error(err));
  const app = await buildApp(infra, services, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    config,
    infra,
    services,
    port,
    base: `http://127.0.0.1:${port}/api/v1`,
    async close() {
      await app.close();
      await db.end();
      await infra.temporal.close();
      await stopAll([postgres]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
