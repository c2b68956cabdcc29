/**
 * The API with real sandboxes for a benchmark: a private PostgreSQL (fsync off: durability is not measured) in a
 * temp dir, the services in this process on a free port of 127.0.0.1 (built as the API process builds them), no
 * Temporal unless `env` names one. `close` removes it all.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, startPostgres, stopAll } from '../../infra/lib/components.mjs';
import { ensurePostgres } from '../../infra/lib/prereqs.mjs';
import { loadConfig } from '../../lib/config.js';
import { migrate } from '../../lib/migrate.js';
import { buildApp, createInfrastructure, createServices } from '../../services/gateway/index.js';
import { migrationSources } from '../../services/gateway/migrations.js';

export async function startApiStack(label: string, env: Record<string, string> = {}, onError: (err: unknown) => void = (err) => console.error(err)) {
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
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    ...env,
    DATABASE_URL: postgres.url,
    JWT_SECRET: randomBytes(32).toString('hex'),
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    DATA_DIR: dir,
  });
  const { infra, close: closeInfra } = await createInfrastructure(config, onError);
  await migrate(infra.db, migrationSources);
  const services = createServices(infra, onError);
  const app = await buildApp(infra, services, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    config,
    infra,
    services,
    port,
    origin: `http://127.0.0.1:${port}`,
    base: `http://127.0.0.1:${port}/api/v1`,
    async close() {
      await app.close();
      await closeInfra();
      await stopAll([postgres]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
