/**
 * Object storage for snapshots and artifacts: S3 or MinIO when configured, a local directory otherwise
 * (one machine). Keys are relative, slash-separated names; a key that could leave its place is refused.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client as MinioClient } from 'minio';

export interface ObjectStore {
  put(key: string, body: NodeJS.ReadableStream): Promise<{ key: string; bytes: number }>;
  get(key: string): Promise<NodeJS.ReadableStream>;
  delete(key: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

function checkKey(key: string): string {
  if (!KEY.test(key) || key.split('/').some((part) => part === '..' || part === '.')) {
    throw new Error(`invalid object key "${key}"`);
  }
  return key;
}

export class LocalObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    return path.join(this.root, checkKey(key));
  }

  async put(key: string, body: NodeJS.ReadableStream): Promise<{ key: string; bytes: number }> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Written aside, then renamed: a reader never sees half an object.
    const partial = `${target}.${randomBytes(4).toString('hex')}.partial`;
    try {
      await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
      await rename(partial, target);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return { key, bytes: (await stat(target)).size };
  }

  async get(key: string): Promise<NodeJS.ReadableStream> {
    const target = this.pathOf(key);
    await stat(target);
    return createReadStream(target);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}

export interface S3Settings {
  /** e.g. http://127.0.0.1:9000 */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

/** S3 or MinIO through the `minio` client; the bucket is created on first use when missing. */
export class S3ObjectStore implements ObjectStore {
  private readonly client: MinioClient;
  private bucketReady: Promise<void> | undefined;

  constructor(private readonly settings: S3Settings) {
    const url = new URL(settings.endpoint);
    this.client = new MinioClient({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      useSSL: url.protocol === 'https:',
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
    });
  }

  private ensureBucket(): Promise<void> {
    this.bucketReady ??= (async () => {
      if (!(await this.client.bucketExists(this.settings.bucket))) {
        await this.client.makeBucket(this.settings.bucket, this.settings.region);
      }
    })().catch((err: unknown) => {
      this.bucketReady = undefined;
      throw err;
    });
    return this.bucketReady;
  }

  async put(key: string, body: NodeJS.ReadableStream): Promise<{ key: string; bytes: number }> {
    await this.ensureBucket();
    let bytes = 0;
    // Counted on the way through: S3 streams of unknown length are uploaded in parts.
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          yield chunk;
        }
      })(),
    );
    await this.client.putObject(this.settings.bucket, checkKey(key), counted);
    return { key, bytes };
  }

  async get(key: string): Promise<NodeJS.ReadableStream> {
    return this.client.getObject(this.settings.bucket, checkKey(key));
  }

  async delete(key: string): Promise<void> {
    await this.client.removeObject(this.settings.bucket, checkKey(key));
  }
}

/** S3/MinIO when an endpoint is configured, the local directory otherwise. */
export function createObjectStore(config: { objectsDir: string; s3: S3Settings | undefined }): ObjectStore {
  return config.s3 ? new S3ObjectStore(config.s3) : new LocalObjectStore(config.objectsDir);
}
