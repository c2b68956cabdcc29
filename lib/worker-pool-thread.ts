/**
 * The loop of one pool worker thread (see worker-pool.ts): imports a task's module on first use, says when the
 * task starts (its deadline counts from then), runs it and posts the result or the error back.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { AppError } from './errors.js';
import type { FromWorker, ToWorker } from './worker-pool.js';

const port = parentPort!;

/** The event loop comes first: on Linux this thread alone gets a lower CPU priority (a nice value of 10). */
function yieldToEventLoop(): void {
  try {
    const threadId = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    if (Number.isInteger(threadId)) setPriority(threadId, 10);
  } catch {
    // Another system: the thread keeps the process's priority.
  }
}
yieldToEventLoop();
const modules = new Map<string, Promise<Record<string, unknown>>>();

function load(module: string): Promise<Record<string, unknown>> {
  let loaded = modules.get(module);
  if (!loaded) {
    loaded = import(module) as Promise<Record<string, unknown>>;
    modules.set(module, loaded);
  }
  return loaded;
}

function post(message: FromWorker): void {
  port.postMessage(message);
}

port.on('message', async (job: ToWorker) => {
  try {
    const task = (await load(job.module))[job.name];
    if (typeof task !== 'function') throw new Error(`${job.module} exports no task named ${job.name}`);
    post({ id: job.id, kind: 'started' });
    const value: unknown = await task(job.input);
    post({ id: job.id, kind: 'done', value });
  } catch (err) {
    post({
      id: job.id,
      kind: 'failed',
      error:
        err instanceof AppError
          ? { code: err.code, message: err.message, details: err.details }
          : { message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
    });
  }
});
post({ kind: 'ready' });
