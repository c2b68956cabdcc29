/**
 * Starts the real components once for the whole run, on free ports, in a throw-away directory:
 * PostgreSQL (with a migrated template database each test file clones), the Temporal dev server and Redis.
 * The Docker engine is the machine's (`npm test` makes sure it runs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, startPostgres, startRedis, startTemporal, stopAll } from '../../infra/lib/components.mjs';
import { ensurePostgres, ensureTemporalCli } from '../../infra/lib/prereqs.mjs';
import { createPool } from '../../lib/db.js';
import { migrate } from '../../lib/migrate.js';
import { migrationSources } from '../../services/gateway/migrations.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated template database; tests clone it (tests/helpers/db.ts). */
    templateDatabaseUrl: string;
    temporalAddress: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-test-'));
  const [pgPort, temporalPort, redisPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const [postgres, temporal, redis] = await Promise.all([
    startPostgres({
      bin: process.env.VF_POSTGRES_BIN ?? ensurePostgres(),
      dataDir: path.join(dir, 'postgres'),
      port: pgPort,
      logFile: path.join(dir, 'postgres.log'),
      database: 'vf_template',
      fsync: false,
    }),
    startTemporal({
      bin: process.env.VF_TEMPORAL_BIN ?? ensureTemporalCli(),
      port: temporalPort,
      logFile: path.join(dir, 'temporal.log'),
    }),
    startRedis({ port: redisPort, logFile: path.join(dir, 'redis.log') }),
  ]);
  const pool = createPool(postgres.url, 1);
  try {
    await migrate(pool, migrationSources);
  } finally {
    await pool.end();
  }
  project.provide('templateDatabaseUrl', postgres.url);
  project.provide('temporalAddress', temporal.address);
  project.provide('redisUrl', redis.url);
  return async () => {
    await stopAll([postgres, temporal, redis]);
    await rm(dir, { recursive: true, force: true });
  };
}
