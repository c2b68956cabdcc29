// Where every pool worker thread starts: TypeScript modules load through tsx whatever runs the parent
// (tsx, vitest, the Temporal worker), since a worker thread does not inherit its parent's module hooks.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.thread);
