/**
 * Starts the real components once for the whole run, on free ports, in a throw-away directory:
 * PostgreSQL (with a migrated template database each test file clones), the Temporal dev server, Redis and
 * MinIO (S3, built once per machine from the Go module proxy), and builds the sandbox images.
 * The Docker engine is the machine's (`npm test` makes sure it runs).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  ensureMinio,
  freePort,
  startMinio,
  startPostgres,
  startRedis,
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
    /** A MinIO server of this run: S3 for the object storage tests. */
    s3: { endpoint: string; accessKey: string; secretKey: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // VF_IMAGE_TAG: a checkout whose sandbox images differ (another branch) tests its own, beside the others.
  const imageSettings = sandboxImageSettings({ ...process.env, SANDBOX_IMAGE_TAG: process.env.VF_IMAGE_TAG || DEFAULT_IMAGE_TAG });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-test-'));
  // PostgreSQL runs as the postgres user when we are root: it must be able to enter the directory.
  await chmod(dir, 0o755);
  const [pgPort, temporalPort, redisPort, minioPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
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
      startMinio({
        bin: await ensureMinio({
          go: process.env.VF_GO_BIN ?? ensureGo(),
          cacheDir: path.join(repoRoot, '.data', 'minio'),
          logFile: path.join(repoRoot, '.data', 'logs', 'minio-build.log'),
        }),
        port: minioPort,
        dataDir: path.join(dir, 'minio'),
        logFile: path.join(dir, 'minio.log'),
      }))(),
    // The sandbox images, built once per machine (skipped while their inputs are unchanged).
    ensureSandboxImages(createDockerClient({ socketPath: process.env.DOCKER_SOCKET, host: undefined }), STACKS, {
      ...imageSettings,
      log: (line) => process.stderr.write(`[images] ${line}\n`),
    }),
  ] as const);
  const [postgresResult, temporalResult, redisResult, minioResult, imagesResult] = results;
  if (
    postgresResult.status === 'rejected' ||
    temporalResult.status === 'rejected' ||
    redisResult.status === 'rejected' ||
    minioResult.status === 'rejected' ||
    imagesResult.status === 'rejected'
  ) {
    // Stop what did start, or it would outlive the run.
    await stopAll(
      [postgresResult, temporalResult, redisResult, minioResult].flatMap((result) =>
        result.status === 'fulfilled' ? [result.value] : [],
      ),
    );
    throw results.find((result) => result.status === 'rejected')?.reason;
  }
  const [postgres, temporal, redis, minio] = [postgresResult.value, temporalResult.value, redisResult.value, minioResult.value];
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
  project.provide('s3', { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey });
  return async () => {
    await stopAll([postgres, temporal, redis, minio]);
    await rm(dir, { recursive: true, force: true });
  };
}
