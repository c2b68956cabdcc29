/**
 * Locks held on a dedicated connection: exclusive across sessions (two pools on one database stand for two
 * processes), freed by unlock and by close, and reported lost when the connection goes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Db } from '../../lib/db.js';
import { LockSession } from '../../lib/lock-session.js';
import { projectLockKey } from '../../lib/project-lock.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
let other: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  other = createPool(database.url, 2);
});
afterAll(async () => {
  await other?.end();
  await database?.drop();
});

describe('LockSession', () => {
  it('holds a lock until unlocked or closed, and no other session gets it meanwhile', async () => {
    const key = projectLockKey('7f1c6a52-7a53-4b4e-9d55-0a1c2b3c4d5e', 'test');
    const first = new LockSession(database.db, () => {});
    const second = new LockSession(other, () => {});
    try {
      expect(await first.tryLock(key)).toBe(true);
      expect(await first.tryLock(key)).toBe(true);
      expect(await second.tryLock(key)).toBe(false);
      await first.unlock(key);
      expect(await second.tryLock(key)).toBe(true);
      expect(await first.tryLock(key)).toBe(false);
      await second.close();
      expect(await first.tryLock(key)).toBe(true);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('reports its locks lost when its connection goes, and takes a new connection after', async () => {
    const key = projectLockKey('0b9a9f0e-55d4-4d7e-8a0f-5d6c7b8a9e0f', 'test');
    const lost: string[][] = [];
    const session = new LockSession(database.db, (keys) => lost.push(keys));
    try {
      expect(await session.tryLock(key)).toBe(true);
      await other.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      await expect.poll(() => lost, { timeout: 10_000 }).toEqual([[key]]);
      expect(session.holds(key)).toBe(false);
      expect(await session.tryLock(key)).toBe(true);
    } finally {
      await session.close();
    }
  });
});
