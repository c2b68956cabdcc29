/**
 * A project's IR as it lives in its workspace (`ir/**.yaml`): read it merged with its diagnostics, validate a
 * proposed change without writing it, write a change only when the result is valid, and describe what a
 * change does as a structural diff. The files go through the files service, so access, path safety and
 * change events are its. Parsing and checking run in worker threads, within a time and memory budget.
 */
import type { Principal } from '../../lib/access.js';
import type { Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { withProjectLock } from '../../lib/project-lock.js';
import { workerTask, type WorkerPool } from '../../lib/worker-pool.js';
import type { FilesService } from '../files/index.js';
import { formatBytes, IR_LIMITS } from './limits.js';
import { isIrFile } from './merge.js';
import type { ChangeOutcome, FileChanges, IrInput, ModelReading } from './service.js';
import type * as tasks from './worker-tasks.js';

export type { ChangeOutcome } from './service.js';

const IR_DIR = 'ir';
/** A path a change may name: plain segments under ir/, ending in .yaml or .yml; no `.` or `..` tricks. */
const CHANGE_PATH = /^ir(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+\.ya?ml$/;

const TASKS = new URL('./worker-tasks.ts', import.meta.url);
const readTask = workerTask<typeof tasks.read>(TASKS, 'read');
const previewTask = workerTask<typeof tasks.preview>(TASKS, 'preview');
const TOO_MUCH = { tooMuch: 'The model is too large or too complex to check' };

export interface ProjectModel extends ModelReading {
  files: string[];
}

export class ProjectIrService {
  constructor(private readonly deps: { files: FilesService; db: Db; workers: WorkerPool }) {}

  /**
   * Every IR file of the workspace, path -> text, within the IR's limits: a file past them is left unread and
   * named in `unread` (the model's diagnostics then say so), so that one bad file never hides the others.
   */
  async input(principal: Principal, projectId: string): Promise<IrInput> {
    let tree;
    try {
      tree = await this.deps.files.tree(principal, projectId, { path: IR_DIR, includeIgnored: false, depth: 20 });
    } catch (err) {
      if (err instanceof AppError && err.code === 'FILE_NOT_FOUND') return { files: {}, unread: {} };
      throw err;
    }
    const paths: string[] = [];
    const walk = (node: (typeof tree)['tree']) => {
      if (node.type === 'file' && isIrFile(node.path)) paths.push(node.path);
      for (const child of node.children ?? []) walk(child);
    };
    walk(tree.tree);
    const files: Record<string, string> = {};
    const unread: Record<string, string> = {};
    let total = 0;
    for (const [n, path] of paths.sort().entries()) {
      if (n >= IR_LIMITS.maxFiles) {
        unread[path] = `the IR may have at most ${IR_LIMITS.maxFiles} files`;
        continue;
      }
      try {
        const { content } = await this.deps.files.read(principal, projectId, path, {
          maxBytes: Math.min(IR_LIMITS.maxFileBytes, IR_LIMITS.maxTotalBytes - total),
        });
        files[path] = content.toString('utf8');
        total += content.length;
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'PAYLOAD_TOO_LARGE')) throw err;
        const size = (err.details as { size?: number } | undefined)?.size ?? 0;
        unread[path] =
          size > IR_LIMITS.maxFileBytes
            ? `the file is ${formatBytes(size)}; an IR file may be at most ${formatBytes(IR_LIMITS.maxFileBytes)}`
            : `the IR's files may hold at most ${formatBytes(IR_LIMITS.maxTotalBytes)} together`;
      }
    }
    return { files, unread };
  }

  async read(principal: Principal, projectId: string): Promise<ProjectModel> {
    const input = await this.input(principal, projectId);
    const reading = await this.deps.workers.run(readTask, input, TOO_MUCH);
    return { ...reading, files: Object.keys(input.files) };
  }

  /** What the change would do and whether it is valid; nothing is written. */
  async preview(principal: Principal, projectId: string, changes: FileChanges): Promise<ChangeOutcome> {
    checkPaths(changes);
    const input = await this.input(principal, projectId);
    return this.deps.workers.run(previewTask, { ...input, changes }, TOO_MUCH);
  }

  /**
   * Writes the change only if the model after it is valid (422 with the diagnostics otherwise), all of it or
   * nothing: under the project's IR lock (across API instances), so a concurrent change cannot slip between
   * the check and the writes, and what was written is restored if a later write fails.
   */
  async apply(principal: Principal, projectId: string, changes: FileChanges): Promise<ChangeOutcome> {
    checkPaths(changes);
    return withProjectLock(this.deps.db, projectId, 'ir', async () => {
      const input = await this.input(principal, projectId);
      const missing = Object.keys(changes).filter((path) => changes[path] === null && !(path in input.files) && !(path in input.unread));
      if (missing.length > 0) {
        throw new AppError('FILE_NOT_FOUND', `${missing.join(', ')} cannot be deleted: no such file; nothing was written`, { paths: missing });
      }
      const outcome = await this.deps.workers.run(previewTask, { ...input, changes }, TOO_MUCH);
      if (!outcome.valid) {
        throw new AppError('UNPROCESSABLE', 'The change would leave the IR invalid; nothing was written', {
          diagnostics: outcome.diagnostics,
        });
      }
      await this.write(principal, projectId, changes, input);
      return outcome;
    });
  }

  /** Applies the file operations; on a failure, puts back what the earlier ones changed. */
  private async write(principal: Principal, projectId: string, changes: FileChanges, before: IrInput): Promise<void> {
    const { files } = this.deps;
    const put = (path: string, text: string) => files.write(principal, projectId, path, Buffer.from(text, 'utf8'));
    // An unread file cannot be restored: deleting one comes last, when nothing else can fail after it.
    const order = (path: string) => (path in before.unread ? 1 : 0);
    const operations = Object.entries(changes).sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
    const done: string[] = [];
    try {
      for (const [path, text] of operations) {
        if (text === null) await files.remove(principal, projectId, path, false);
        else await put(path, text);
        done.push(path);
      }
    } catch (err) {
      const unrestored: string[] = [];
      for (const path of done.reverse()) {
        const previous = before.files[path];
        await (previous === undefined ? files.remove(principal, projectId, path, false) : put(path, previous)).catch(() => unrestored.push(path));
      }
      if (!(err instanceof AppError)) throw err;
      const outcome = unrestored.length === 0 ? 'nothing was written' : `${unrestored.join(', ')} could not be put back`;
      throw new AppError(err.code, `${err.message}; ${outcome}`, { ...(err.details as object | undefined), ...(unrestored.length > 0 ? { unrestored } : {}) });
    }
  }
}

function checkPaths(changes: FileChanges): void {
  const paths = Object.keys(changes);
  if (paths.length === 0) throw new AppError('VALIDATION_FAILED', 'A change names at least one file');
  const outside = paths.filter((path) => !CHANGE_PATH.test(path));
  if (outside.length > 0) {
    throw new AppError('VALIDATION_FAILED', 'IR changes may only touch ir/**/*.yaml files', { paths: outside });
  }
}
