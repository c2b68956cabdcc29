/**
 * The worker pool: tasks run in threads (TypeScript loaded through tsx whatever runs the parent), errors cross
 * back intact, and a task past its time or memory budget fails with UNPROCESSABLE while the pool goes on.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';
import { WorkerPool, workerTask } from '../../lib/worker-pool.js';
import type * as tasks from '../fixtures/worker-pool-tasks.js';

const TASKS = new URL('../fixtures/worker-pool-tasks.ts', import.meta.url);
const add = workerTask<typeof tasks.add>(TASKS, 'add');
const later = workerTask<typeof tasks.later>(TASKS, 'later');
const refuse = workerTask<typeof tasks.refuse>(TASKS, 'refuse');
const spin = workerTask<typeof tasks.spin>(TASKS, 'spin');
const hoard = workerTask<typeof tasks.hoard>(TASKS, 'hoard');
const TOO_MUCH = { tooMuch: 'The test task is too much' };

const pool = new WorkerPool({ size: 2, timeoutMs: 1500, maxHeapMb: 64 });
afterAll(() => pool.close());

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('WorkerPool', () => {
  it('runs TypeScript tasks in threads, more of them than it has threads', async () => {
    const sums = await Promise.all(Array.from({ length: 7 }, (_, i) => pool.run(add, { a: i, b: 1 }, TOO_MUCH)));
    expect(sums).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await pool.run(later, { value: 'done' }, TOO_MUCH)).toBe('done');
  });

  it('hands back an AppError thrown by a task with its code and details', async () => {
    const err = await failure(pool.run(refuse, { why: 'no thanks' }, TOO_MUCH));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).toBe('no thanks');
    expect(err.details).toEqual({ field: 'why' });
  });

  it('ends a task past its deadline with UNPROCESSABLE, and a new thread takes the place of its own', async () => {
    const [spun, added] = await Promise.allSettled([pool.run(spin, undefined, TOO_MUCH), pool.run(add, { a: 1, b: 1 }, TOO_MUCH)]);
    expect(added).toEqual({ status: 'fulfilled', value: 2 });
    const err = (spun as PromiseRejectedResult).reason as AppError;
    expect(err.code).toBe('UNPROCESSABLE');
    expect(err.message).toBe('The test task is too much: it took longer than 1.5 s');
    expect(err.details).toEqual({ limit: 'time', seconds: 1.5 });
    expect(await Promise.all([pool.run(add, { a: 2, b: 2 }, TOO_MUCH), pool.run(add, { a: 3, b: 3 }, TOO_MUCH)])).toEqual([4, 6]);
  });

  it('ends a task past its heap with UNPROCESSABLE', async () => {
    // A deadline no busy machine reaches first: this is about the heap.
    const roomy = new WorkerPool({ size: 1, timeoutMs: 120_000, maxHeapMb: 64 });
    try {
      const err = await failure(roomy.run(hoard, undefined, TOO_MUCH));
      expect(err.code).toBe('UNPROCESSABLE');
      expect(err.details).toEqual({ limit: 'memory', megabytes: 64 });
      expect(await roomy.run(add, { a: 5, b: 5 }, TOO_MUCH)).toBe(10);
    } finally {
      roomy.close();
    }
  });

  it('refuses tasks once closed', async () => {
    const closing = new WorkerPool({ size: 1, timeoutMs: 1000, maxHeapMb: 64 });
    await closing.close();
    expect((await failure(closing.run(add, { a: 1, b: 2 }, TOO_MUCH))).code).toBe('SERVICE_UNAVAILABLE');
  });

  it('works in a process run with `node --import tsx`, as the API and the Temporal worker are', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'tests', 'fixtures', 'worker-pool-host.ts')], {
      cwd: repoRoot,
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual({ sum: 42 });
  });
});
