/**
 * Starts the real components once for the whole run, on free ports, in a throw-away directory:
 * PostgreSQL (with a migrated template database each test file clones), the Temporal dev server and Redis.
 * The Docker engine is the machine's (`npm test` makes sure it runs).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, startPostgres, startRedis, startTemporal, stopAll } from '../../infra/lib/components.mjs';
import { ensurePostgres, ensureTemporalCli } from '../../infra/lib/prereqs.mjs';
import { createPool } from '../../lib/db.js';
import { migrate } from '../../lib/migrate.js';
import { migrationSources } from '../../services/gateway/migrations.js';
import { createDockerClient } from '../../services/containers/index.js';
import { ensureSandboxImages, STACKS } from '../../sandbox-images/build.js';
import { DEFAULT_IMAGE_TAG } from '../../sandbox-images/names.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated template database; tests clone it (tests/helpers/db.ts). */
    templateDatabaseUrl: string;
    temporalAddress: string;
    redisUrl: string;
    /** The tag of the sandbox images this run uses (sandbox-images/names.ts). */
    imageTag: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // VF_IMAGE_TAG: a checkout whose sandbox images differ (another branch) tests its own, beside the others.
  const imageTag = process.env.VF_IMAGE_TAG || DEFAULT_IMAGE_TAG;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-test-'));
  // PostgreSQL runs as the postgres user when we are root: it must be able to enter the directory.
  await chmod(dir, 0o755);
  const [pgPort, temporalPort, redisPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const results = await Promise.allSettled([
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
    // The sandbox images, built once per machine (skipped while their inputs are unchanged).
    ensureSandboxImages(createDockerClient({ socketPath: process.env.DOCKER_SOCKET, host: undefined }), STACKS, {
      log: (line) => process.stderr.write(`[images] ${line}\n`),
      tag: imageTag,
    }),
  ] as const);
  const [postgresResult, temporalResult, redisResult, imagesResult] = results;
  if (
    postgresResult.status === 'rejected' ||
    temporalResult.status === 'rejected' ||
    redisResult.status === 'rejected' ||
    imagesResult.status === 'rejected'
  ) {
    // Stop what did start, or it would outlive the run.
    await stopAll(
      [postgresResult, temporalResult, redisResult].flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    );
    throw results.find((result) => result.status === 'rejected')?.reason;
  }
  const [postgres, temporal, redis] = [postgresResult.value, temporalResult.value, redisResult.value];
  const pool = createPool(postgres.url, 1);
  try {
    await migrate(pool, migrationSources);
  } finally {
    await pool.end();
  }
  project.provide('templateDatabaseUrl', postgres.url);
  project.provide('temporalAddress', temporal.address);
  project.provide('redisUrl', redis.url);
  project.provide('imageTag', imageTag);
  return async () => {
    await stopAll([postgres, temporal, redis]);
    await rm(dir, { recursive: true, force: true });
  };
}
