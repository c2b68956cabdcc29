/**
 * Work whose cost a user controls (parsing and checking a model, generating code) runs here, off the event
 * loop: a few worker threads, each task with a deadline and a heap limit. A task that runs out of either ends
 * its worker (a new one takes its place) and fails with UNPROCESSABLE, never with a 500 nor a frozen server.
 *
 * A task is a function exported by a module (`workerTask(new URL('./tasks.ts', import.meta.url), 'read')`);
 * it takes and returns structured-cloneable data and may throw AppError, which reaches the caller unchanged.
 */
import { Worker } from 'node:worker_threads';
import { AppError, isErrorCode } from './errors.js';

export interface WorkerPoolOptions {
  /** Threads at most; started on first use and kept. */
  size: number;
  /** How long one task may run once its module is loaded. */
  timeoutMs: number;
  /** The heap a worker may use (old generation); a task needing more ends its worker. */
  maxHeapMb: number;
  /** Tasks waiting for a thread beyond this many are refused as busy. */
  maxQueued?: number;
}

/** A task: the module exporting it and its name there. `F` types its input and output. */
export interface WorkerTask<F extends (input: never) => unknown> {
  readonly module: string;
  readonly name: string;
  /** Never set: carries `F` for the type checker. */
  readonly signature?: F;
}

export function workerTask<F extends (input: never) => unknown>(module: URL, name: string): WorkerTask<F> {
  return { module: module.href, name };
}

export interface RunOptions {
  /**
   * What a task out of time or memory means to the person who asked, e.g. `The model is too large or too
   * complex to check`; the limit reached is appended.
   */
  tooMuch: string;
}

/** Messages between the pool and its threads (worker-pool-thread.ts). */
export type ToWorker = { id: number; module: string; name: string; input: unknown };
export type FromWorker =
  | { kind: 'ready' }
  | { id: number; kind: 'started' }
  | { id: number; kind: 'done'; value: unknown }
  | { id: number; kind: 'failed'; error: { code?: string; message: string; details?: unknown } };

interface Job {
  id: number;
  task: WorkerTask<never>;
  input: unknown;
  tooMuch: string;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
  /** Why the worker is being ended, to tell the job's caller. */
  ending?: AppError;
}

const BOOT = new URL('./worker-pool-boot.mjs', import.meta.url);
const THREAD = new URL('./worker-pool-thread.ts', import.meta.url);
/** Loading a task's module is ours, not the user's: bounded apart from the task's own deadline. */
const LOAD_TIMEOUT_MS = 60_000;

export class WorkerPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  run<F extends (input: never) => unknown>(
    task: WorkerTask<F>,
    input: Parameters<F>[0],
    options: RunOptions,
  ): Promise<Awaited<ReturnType<F>>> {
    if (this.closed) return Promise.reject(new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down'));
    if (this.queue.length >= (this.options.maxQueued ?? this.options.size * 50)) {
      return Promise.reject(new AppError('SERVICE_UNAVAILABLE', 'The server is busy with other checks; try again in a moment'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        task: task as WorkerTask<never>,
        input,
        tooMuch: options.tooMuch,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.dispatch();
    });
  }

  /** Ends every thread; queued and running tasks fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down'));
    await Promise.all(
      [...this.slots].map((slot) => {
        slot.ending = new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down');
        return slot.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.ready && !slot.job && !slot.ending) this.start(slot, this.queue.shift()!);
    }
    // Threads for what still waits, counting those already starting.
    const starting = [...this.slots].filter((slot) => !slot.ready).length;
    for (let n = Math.min(this.queue.length - starting, this.options.size - this.slots.size); n > 0; n--) this.spawn();
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    job.timer = setTimeout(() => this.end(slot, new AppError('INTERNAL', `A worker could not load ${job.task.module}`)), LOAD_TIMEOUT_MS);
    const message: ToWorker = { id: job.id, module: job.task.module, name: job.task.name, input: job.input };
    try {
      slot.worker.postMessage(message);
    } catch (err) {
      // The input cannot be copied to a thread: a caller's bug.
      this.finish(slot, () => job.reject(err));
    }
  }

  private spawn(): void {
    const { maxHeapMb } = this.options;
    const worker = new Worker(BOOT, {
      workerData: { thread: THREAD.href },
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb, maxYoungGenerationSizeMb: Math.min(64, Math.ceil(maxHeapMb / 8)) },
    });
    const slot: Slot = { worker, ready: false };
    this.slots.add(slot);
    let failure: Error | undefined;
    worker.on('message', (message: FromWorker) => this.received(slot, message));
    worker.on('error', (err) => {
      failure = err;
    });
    worker.on('exit', () => {
      this.slots.delete(slot);
      const job = slot.job;
      if (job) {
        clearTimeout(job.timer);
        const outOfMemory = (failure as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
        job.reject(
          slot.ending ??
            (outOfMemory
              ? new AppError('UNPROCESSABLE', `${job.tooMuch}: it needed more than ${maxHeapMb} MB of memory`, { limit: 'memory', megabytes: maxHeapMb })
              : new AppError('INTERNAL', 'A worker thread stopped unexpectedly', undefined, { cause: failure })),
        );
      } else if (!slot.ready && failure) {
        // A thread that cannot even start fails what waits for it, rather than being restarted for ever.
        for (const waiting of this.queue.splice(0)) waiting.reject(new AppError('INTERNAL', 'A worker thread could not start', undefined, { cause: failure }));
      }
      if (!this.closed) this.dispatch();
    });
  }

  private received(slot: Slot, message: FromWorker): void {
    if (message.kind === 'ready') {
      slot.ready = true;
      slot.worker.unref();
      this.dispatch();
      return;
    }
    const job = slot.job;
    if (!job || job.id !== message.id || slot.ending) return;
    if (message.kind === 'started') {
      clearTimeout(job.timer);
      const { timeoutMs } = this.options;
      job.timer = setTimeout(
        () =>
          this.end(
            slot,
            new AppError('UNPROCESSABLE', `${job.tooMuch}: it took longer than ${timeoutMs / 1000} s`, { limit: 'time', seconds: timeoutMs / 1000 }),
          ),
        timeoutMs,
      );
    } else if (message.kind === 'done') {
      this.finish(slot, () => job.resolve(message.value));
    } else {
      const { code, message: text, details } = message.error;
      const error = code !== undefined && isErrorCode(code) ? new AppError(code, text, details) : new Error(`A worker task failed: ${text}`);
      this.finish(slot, () => job.reject(error));
    }
  }

  private finish(slot: Slot, settle: () => void): void {
    clearTimeout(slot.job?.timer);
    slot.job = undefined;
    slot.worker.unref();
    settle();
    this.dispatch();
  }

  /** Stops a thread in the middle of a task; its exit fails the task with `reason` and a new thread takes its place. */
  private end(slot: Slot, reason: AppError): void {
    slot.ending = reason;
    void slot.worker.terminate();
  }
}
