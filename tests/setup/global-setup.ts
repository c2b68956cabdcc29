/**
 * Starts the real components once for the whole run, on free ports, in a throw-away directory:
 * PostgreSQL (with a migrated template database each test file clones), the Temporal dev server, Redis and
 * an S3 server (versitygw, built once per machine from the Go module proxy), and builds the sandbox images.
 * The Docker engine is the machine's (`npm test` makes sure it runs).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  ensureS3Server,
  freePort,
  startPostgres,
  startRedis,
  startS3Server,
  startTemporal,
  stopAll,
} from '../../infra/lib/components.mjs';
import { ensureGo, ensurePostgres, ensureTemporalCli } from '../../infra/lib/prereqs.mjs';
import { repoRoot, sandboxImageSettings, type SandboxImageSettings } from '../../lib/config.js';
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
    /** How this run's sandbox images were built (tag, extra CA certificates, cache). */
    imageSettings: SandboxImageSettings;
    /** The S3 server of this run, for the object storage tests. */
    s3: { endpoint: string; accessKey: string; secretKey: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // VF_IMAGE_TAG: a checkout whose sandbox images differ (another branch) tests its own, beside the others.
  const imageSettings = sandboxImageSettings({ ...process.env, SANDBOX_IMAGE_TAG: process.env.VF_IMAGE_TAG || DEFAULT_IMAGE_TAG });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-test-'));
  // PostgreSQL runs as the postgres user when we are root: it must be able to enter the directory.
  await chmod(dir, 0o755);
  const [pgPort, temporalPort, redisPort, s3Port] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
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
    (async () =>
      startS3Server({
        bin: await ensureS3Server({
          go: process.env.VF_GO_BIN ?? ensureGo(),
          cacheDir: path.join(repoRoot, '.data', 's3-server'),
          logFile: path.join(repoRoot, '.data', 'logs', 's3-server-build.log'),
        }),
        port: s3Port,
        dataDir: path.join(dir, 's3'),
        logFile: path.join(dir, 's3.log'),
      }))(),
    // The sandbox images, built once per machine (skipped while their inputs are unchanged).
    ensureSandboxImages(createDockerClient({ socketPath: process.env.DOCKER_SOCKET, host: undefined }), STACKS, {
      ...imageSettings,
      log: (line) => process.stderr.write(`[images] ${line}\n`),
    }),
  ] as const);
  const [postgresResult, temporalResult, redisResult, s3Result, imagesResult] = results;
  if (
    postgresResult.status === 'rejected' ||
    temporalResult.status === 'rejected' ||
    redisResult.status === 'rejected' ||
    s3Result.status === 'rejected' ||
    imagesResult.status === 'rejected'
  ) {
    // Stop what did start, or it would outlive the run.
    await stopAll(
      [postgresResult, temporalResult, redisResult, s3Result].flatMap((result) =>
        result.status === 'fulfilled' ? [result.value] : [],
      ),
    );
    throw results.find((result) => result.status === 'rejected')?.reason;
  }
  const [postgres, temporal, redis, s3] = [postgresResult.value, temporalResult.value, redisResult.value, s3Result.value];
  const pool = createPool(postgres.url, 1);
  try {
    await migrate(pool, migrationSources);
  } finally {
    await pool.end();
  }
  project.provide('templateDatabaseUrl', postgres.url);
  project.provide('temporalAddress', temporal.address);
  project.provide('redisUrl', redis.url);
  project.provide('imageTag', imageSettings.tag);
  project.provide('imageSettings', imageSettings);
  project.provide('s3', { endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey });
  return async () => {
    await stopAll([postgres, temporal, redis, s3]);
    await rm(dir, { recursive: true, force: true });
  };
}
