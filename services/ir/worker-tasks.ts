/**
 * The IR's work that runs in a worker thread (lib/worker-pool.ts): parsing and checking a model costs what its
 * author wrote, so it never runs on the API's event loop.
 */
import { previewChange, readModel, type ChangeOutcome, type FileChanges, type IrInput, type ModelReading } from './service.js';

export function read(input: IrInput): ModelReading {
  return readModel(input.files, input.unread);
}

export function preview(input: IrInput & { changes: FileChanges }): ChangeOutcome {
  return previewChange(input.files, input.changes, input.unread);
}
