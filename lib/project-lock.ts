/**
 * One thing at a time per project and purpose, across every API instance and worker of a deployment: a
 * PostgreSQL session advisory lock. Waiting polls with `pg_try_advisory_lock` so that a waiter holds no
 * connection; the holder keeps one connection of `db` until its work ends (if that connection is lost, so is
 * the lock). Not reentrant: work must not take the same project and scope again.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from './db.js';
import { AppError } from './errors.js';

export interface ProjectLockOptions {
  /** How long to wait for the lock before refusing with PROJECT_BUSY. */
  waitMs?: number;
}

const DEFAULT_WAIT_MS = 30_000;

/** The lock's 64-bit key: scopes keep different purposes (`ir`, `sandbox`, ...) of one project apart. */
export function projectLockKey(projectId: string, scope: string): string {
  const digest = createHash('sha256').update(`${scope}\0${projectId}`).digest();
  return digest.readBigInt64BE(0).toString();
}

export async function withProjectLock<T>(
  db: Db,
  projectId: string,
  scope: string,
  work: () => Promise<T>,
  options: ProjectLockOptions = {},
): Promise<T> {
  const key = projectLockKey(projectId, scope);
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    const client = await db.connect();
    let locked = false;
    try {
      locked = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key])).rows[0]!.locked;
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    if (locked) {
      try {
        return await work();
      } finally {
        // A failed unlock ends the connection, which releases the lock with it.
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).then(
          () => client.release(),
          (err: Error) => client.release(err),
        );
      }
    }
    client.release();
    if (Date.now() >= deadline) {
      throw new AppError('PROJECT_BUSY', 'Another change to this project is in progress; try again in a moment', { scope });
    }
    // Jitter: waiters of one lock must not poll in step.
    await sleep(pause / 2 + Math.random() * pause);
  }
}
