/**
 * The per-project lock holds across API instances (two connection pools on one database stand for two
 * instances): holders of one project and scope never overlap, other projects and scopes are not held up,
 * a waiter gives up with PROJECT_BUSY, and a failed holder releases the lock.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { withProjectLock } from '../../lib/project-lock.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
let other: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  other = createPool(database.url, 4);
});
afterAll(async () => {
  await other?.end();
  await database?.drop();
});

/** Runs `count` holders at once, alternating between the two pools; returns the most that were inside at once. */
async function overlap(count: number, lockOf: (i: number) => [string, string]): Promise<number> {
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      withProjectLock(i % 2 === 0 ? database.db : other, ...lockOf(i), async () => {
        most = Math.max(most, ++inside);
        await sleep(20);
        inside--;
      }),
    ),
  );
  return most;
}

/**
 * Whether holders of these locks are all inside at once: each, once in, waits for the others (for at most 10 s,
 * which only a lock that wrongly holds one up makes it wait). No timing decides the outcome.
 */
async function allInsideTogether(locks: Array<[string, string]>): Promise<boolean> {
  let inside = 0;
  let allIn!: () => void;
  const together = new Promise<void>((resolve) => (allIn = resolve));
  const results = await Promise.all(
    locks.map((lock, i) =>
      withProjectLock(i % 2 === 0 ? database.db : other, ...lock, async () => {
        if (++inside === locks.length) allIn();
        return Promise.race([together.then(() => true), sleep(10_000).then(() => false)]);
      }),
    ),
  );
  return results.every(Boolean);
}

describe('withProjectLock', () => {
  it('lets one holder at a time in, across two instances', async () => {
    const project = randomUUID();
    expect(await overlap(8, () => [project, 'ir'])).toBe(1);
  });

  it('does not hold up other projects or other scopes', async () => {
    const project = randomUUID();
    expect(await allInsideTogether([[project, 'ir'], [randomUUID(), 'ir'], [randomUUID(), 'ir']])).toBe(true);
    expect(await allInsideTogether([[project, 'ir'], [project, 'sandbox']])).toBe(true);
  });

  it('refuses a waiter with PROJECT_BUSY after its wait, and releases the lock when the work fails', async () => {
    const project = randomUUID();
    let release!: () => void;
    const held = withProjectLock(database.db, project, 'ir', () => new Promise<void>((resolve) => (release = resolve)));
    await sleep(50);
    const err = await withProjectLock(other, project, 'ir', async () => 'entered', { waitMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('PROJECT_BUSY');
    release();
    await held;

    await expect(withProjectLock(database.db, project, 'ir', async () => Promise.reject(new Error('broke')))).rejects.toThrow('broke');
    expect(await withProjectLock(other, project, 'ir', async () => 'entered', { waitMs: 1000 })).toBe('entered');
  });
});
