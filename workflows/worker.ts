/** The Temporal worker: registers every workflow and activity on the task queue. */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Config } from '../lib/config.js';
import { createActivities, type ActivityDeps } from './activities/index.js';

export const workflowsPath = fileURLToPath(new URL('./definitions/index.ts', import.meta.url));

export async function createWorker(options: {
  connection: NativeConnection;
  temporal: Config['temporal'];
  /** What the activities act through (the agent runs' engine). */
  deps?: ActivityDeps;
  /** Overrides for tests (a bundle built once, a shorter shutdown). */
  worker?: Partial<WorkerOptions>;
}): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.temporal.namespace,
    taskQueue: options.temporal.taskQueue,
    workflowsPath,
    activities: createActivities(options.deps),
    shutdownGraceTime: '10 seconds',
    ...options.worker,
  });
}

export function connectWorker(temporal: Config['temporal']): Promise<NativeConnection> {
  return NativeConnection.connect({ address: temporal.address });
}
