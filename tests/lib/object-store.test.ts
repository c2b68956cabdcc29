import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { createObjectStore, LocalObjectStore, S3ObjectStore } from '../../lib/object-store.js';

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

describe('local object store', () => {
  it('stores, reads back and deletes objects under nested keys', async () => {
    const store = new LocalObjectStore(dir);
    expect(await store.put('snapshots/p1/a.tar', Readable.from(['hello ', 'objects']))).toEqual({
      key: 'snapshots/p1/a.tar',
      bytes: 13,
    });
    expect(await text(await store.get('snapshots/p1/a.tar'))).toBe('hello objects');
    await store.delete('snapshots/p1/a.tar');
    await expect(store.get('snapshots/p1/a.tar')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses keys that could leave its directory', async () => {
    const store = new LocalObjectStore(dir);
    for (const key of ['../escape', 'a/../../b', '/abs', 'a//b', '.hidden', 'a/./b', '']) {
      await expect(store.put(key, Readable.from(['x'])), key).rejects.toThrow(/invalid object key/);
    }
    expect(await readdir(path.dirname(dir))).not.toContain('escape');
  });

  it('leaves nothing behind when the body fails half way', async () => {
    const store = new LocalObjectStore(dir);
    const failing = new Readable({
      read() {
        this.push('partial');
        this.destroy(new Error('connection lost'));
      },
    });
    await expect(store.put('broken/x.tar', failing)).rejects.toThrow('connection lost');
    expect(await readdir(path.join(dir, 'broken'))).toEqual([]);
  });
});

describe('choosing the object store', () => {
  const base = { DATABASE_URL: 'postgres://x', JWT_SECRET: 'x'.repeat(40) };

  it('uses S3/MinIO when an endpoint is configured, the local directory otherwise', () => {
    expect(createObjectStore(loadConfig(base))).toBeInstanceOf(LocalObjectStore);
    const s3 = loadConfig({ ...base, S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's' });
    expect(s3.s3).toEqual({ endpoint: 'http://127.0.0.1:9000', accessKey: 'k', secretKey: 's', bucket: 'vaporform', region: 'us-east-1' });
    expect(createObjectStore(s3)).toBeInstanceOf(S3ObjectStore);
  });

  it('refuses an incomplete S3 configuration with a clear message', () => {
    expect(() => loadConfig({ ...base, S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(/S3_ACCESS_KEY and S3_SECRET_KEY/);
    expect(() => loadConfig({ ...base, S3_ENDPOINT: '127.0.0.1:9000', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's' })).toThrow(
      /http\(s\) URL/,
    );
  });
});
