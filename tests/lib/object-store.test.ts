/** Object storage, the same behaviour from the local directory and from a real S3 server (tests/setup). */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client as MinioClient } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { createObjectStore, LocalObjectStore, S3ObjectStore, type ObjectStore } from '../../lib/object-store.js';
import { s3Env, s3Settings } from '../helpers/s3.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'objects-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) out += chunk.toString();
  return out;
}

describe.each([
  ['local directory', () => new LocalObjectStore(path.join(dir, `store-${Math.random().toString(36).slice(2)}`))],
  ['S3', () => new S3ObjectStore(s3Settings())],
] as const)('object store: %s', (_name, make: () => ObjectStore) => {
  it('stores, lists, reads back and deletes objects under nested keys', async () => {
    const store = make();
    expect(await store.list('snapshots/')).toEqual([]);
    expect(await store.put('snapshots/p1/a.tar', Readable.from(['hello ', 'objects']))).toEqual({ key: 'snapshots/p1/a.tar', bytes: 13 });
    // Larger than one part of a multipart upload (16 MiB): sent in parts.
    const big = Buffer.alloc(20 * 1024 * 1024, 'x');
    expect(await store.put('snapshots/p1/b.tar', Readable.from([big]))).toEqual({ key: 'snapshots/p1/b.tar', bytes: big.length });
    await store.put('snapshots/p2/c.tar', Readable.from(['other project']));
    await store.put('artifacts/p1/d.zip', Readable.from(['elsewhere']));
    expect(await store.list('snapshots/p1/')).toEqual(['snapshots/p1/a.tar', 'snapshots/p1/b.tar']);
    expect(await store.list('snapshots/')).toEqual(['snapshots/p1/a.tar', 'snapshots/p1/b.tar', 'snapshots/p2/c.tar']);
    expect(await text(await store.get('snapshots/p1/a.tar'))).toBe('hello objects');
    expect((await text(await store.get('snapshots/p1/b.tar'))).length).toBe(big.length);
    // Overwriting replaces the object.
    await store.put('snapshots/p1/a.tar', Readable.from(['second version']));
    expect(await text(await store.get('snapshots/p1/a.tar'))).toBe('second version');
    await store.delete('snapshots/p1/a.tar');
    await expect(store.get('snapshots/p1/a.tar')).rejects.toThrow();
    expect(await store.list('snapshots/p1/')).toEqual(['snapshots/p1/b.tar']);
    // Deleting what is not there is no error.
    await store.delete('snapshots/p1/a.tar');
  });

  it('refuses keys that could leave their place', async () => {
    const store = make();
    for (const key of ['../escape', 'a/../../b', '/abs', 'a//b', '.hidden', 'a/./b', '']) {
      await expect(store.put(key, Readable.from(['x'])), key).rejects.toThrow(/invalid object key/);
      await expect(store.get(key), key).rejects.toThrow(/invalid object key/);
    }
    expect(await store.list('')).toEqual([]);
    expect(await readdir(path.dirname(dir))).not.toContain('escape');
  });

  it('keeps nothing of a body that fails half way', async () => {
    const store = make();
    const failing = new Readable({
      read() {
        this.push('partial');
        this.destroy(new Error('connection lost'));
      },
    });
    await expect(store.put('broken/x.tar', failing)).rejects.toThrow('connection lost');
    expect(await store.list('broken/')).toEqual([]);
  });
});

describe('choosing the object store', () => {
  const base = { DATABASE_URL: 'postgres://x', JWT_SECRET: 'x'.repeat(40) };

  it('writes to the S3 bucket when an endpoint is configured, to the local directory otherwise', async () => {
    const objectsDir = path.join(dir, 'chosen');
    const local = createObjectStore(loadConfig({ ...base, OBJECTS_DIR: objectsDir }));
    await local.put('one/local.txt', Readable.from(['here']));
    expect(await readdir(path.join(objectsDir, 'one'))).toEqual(['local.txt']);

    const settings = s3Settings();
    const config = loadConfig({ ...base, OBJECTS_DIR: objectsDir, ...s3Env(settings) });
    expect(config.s3).toEqual(settings);
    await createObjectStore(config).put('one/remote.txt', Readable.from(['there']));
    // Read back with a client of its own: the object is in the bucket, not in the directory.
    const url = new URL(settings.endpoint);
    const client = new MinioClient({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
    });
    expect(await text(await client.getObject(settings.bucket, 'one/remote.txt'))).toBe('there');
    expect(await readdir(path.join(objectsDir, 'one'))).toEqual(['local.txt']);
  });

  it('refuses an incomplete S3 configuration with a clear message', () => {
    expect(() => loadConfig({ ...base, S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(/S3_ACCESS_KEY and S3_SECRET_KEY/);
    expect(() => loadConfig({ ...base, S3_ENDPOINT: '127.0.0.1:9000', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's' })).toThrow(
      /http\(s\) URL/,
    );
  });
});
