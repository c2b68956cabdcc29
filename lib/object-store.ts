/**
 * Object storage for snapshots and artifacts: a local directory on one machine. Keys are relative,
 * slash-separated names; a key that could leave the directory is refused.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';

export interface ObjectStore {
  put(key: string, body: NodeJS.ReadableStream): Promise<{ key: string; bytes: number }>;
  get(key: string): Promise<NodeJS.ReadableStream>;
  delete(key: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

export class LocalObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    if (!KEY.test(key) || key.split('/').some((part) => part === '..' || part === '.')) {
      throw new Error(`invalid object key "${key}"`);
    }
    return path.join(this.root, key);
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
