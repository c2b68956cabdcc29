/** The run's S3 server (tests/setup): settings for an object store, or the environment that configures an app for it. */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { S3Settings } from '../../lib/object-store.js';

/** A bucket of its own per call, so that test files never see each other's objects. */
export function s3Settings(): S3Settings {
  const s3 = inject('s3');
  return { ...s3, bucket: `vf-test-${randomBytes(6).toString('hex')}`, region: 'us-east-1' };
}

/** The variables that point an app's object storage at the run's S3 server (see lib/config.ts). */
export function s3Env(settings: S3Settings = s3Settings()): Record<string, string> {
  return {
    S3_ENDPOINT: settings.endpoint,
    S3_ACCESS_KEY: settings.accessKey,
    S3_SECRET_KEY: settings.secretKey,
    S3_BUCKET: settings.bucket,
    S3_REGION: settings.region,
  };
}
