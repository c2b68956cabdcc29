/**
 * Object storage for snapshots and artifacts: S3 or MinIO when configured, a local directory otherwise
 * (one machine). Keys are relative, slash-separated names; a key that could leave its place is refused.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { Client as MinioClient } from 'minio';

export interface ObjectStore {
  put(key: string, body: NodeJS.ReadableStream): Promise<{ key: string; bytes: number }>;
  get(key: string): Promise<NodeJS.ReadableStream>;
  /** The keys under `prefix` (`snapshots/<project>/`, say), sorted. */
  list(prefix: string): Promise<string[]>;
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

  async list(prefix: string): Promise<string[]> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    return entries
      .filter((entry) => entry.isFile() && !entry.name.endsWith('.partial'))
      .map((entry) => path.relative(this.root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .sort();
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

const PART_BYTES = 16 * 1024 * 1024;

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
      // Streams of unknown length go up in parts of this size, each held in memory once: without it the client
      // sizes parts for a 5 TiB object (about 550 MB each).
      partSize: PART_BYTES,
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
    checkKey(key);
    await this.ensureBucket();
    let bytes = 0;
    // Counted on the way through: S3 streams of unknown length are uploaded in parts.
    const counted = new PassThrough();
    const feeding = pipeline(
      body,
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
      counted,
    );
    try {
      // The client does not watch its stream for errors: a failing body must fail the upload, not hang it.
      await Promise.all([feeding, this.client.putObject(this.settings.bucket, key, counted)]);
    } catch (err) {
      counted.destroy();
      // The parts sent so far: never completed into an object, removed rather than left to the server's expiry.
      await this.client.removeIncompleteUpload(this.settings.bucket, key).catch(() => {});
      throw err;
    }
    return { key, bytes };
  }

  async get(key: string): Promise<NodeJS.ReadableStream> {
    return this.client.getObject(this.settings.bucket, checkKey(key));
  }

  async list(prefix: string): Promise<string[]> {
    await this.ensureBucket();
    const keys: string[] = [];
    for await (const item of this.client.listObjectsV2(this.settings.bucket, prefix, true) as AsyncIterable<{ name?: string }>) {
      if (item.name) keys.push(item.name);
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.client.removeObject(this.settings.bucket, checkKey(key));
  }
}

/** S3/MinIO when an endpoint is configured, the local directory otherwise. */
export function createObjectStore(config: { objectsDir: string; s3: S3Settings | undefined }): ObjectStore {
  return config.s3 ? new S3ObjectStore(config.s3) : new LocalObjectStore(config.objectsDir);
}
