/**
 * A project's IR as it lives in its workspace (`ir/**.yaml`): read it merged with its diagnostics, validate a
 * proposed change without writing it, write a change only when the result is valid, and describe what a
 * change does as a structural diff. The files go through the files service, so access, path safety and
 * change events are its.
 */
import type { Principal } from '../../lib/access.js';
import { AppError } from '../../lib/errors.js';
import type { FilesService } from '../files/index.js';
import { hasErrors, type Diagnostic } from './diagnostics.js';
import type { ModelDiff } from './diff.js';
import { isIrFile } from './merge.js';
import type { Files } from './model.js';
import { diffModels, readModel, validateChange, type FileChanges, type ModelReading } from './service.js';

const IR_DIR = 'ir';
/** A path a change may name: plain segments under ir/, ending in .yaml or .yml; no `.` or `..` tricks. */
const CHANGE_PATH = /^ir(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+\.ya?ml$/;
const MAX_IR_FILES = 500;

export interface ProjectModel extends ModelReading {
  files: string[];
}

export interface ChangeOutcome {
  valid: boolean;
  diagnostics: Diagnostic[];
  diff: ModelDiff;
}

export class ProjectIrService {
  constructor(private readonly deps: { files: FilesService }) {}

  /** Every IR file of the workspace, path -> text. */
  private async load(principal: Principal, projectId: string): Promise<Files> {
    let tree;
    try {
      tree = await this.deps.files.tree(principal, projectId, { path: IR_DIR, includeIgnored: false, depth: 20 });
    } catch (err) {
      if (err instanceof AppError && err.code === 'FILE_NOT_FOUND') return {};
      throw err;
    }
    const paths: string[] = [];
    const walk = (node: (typeof tree)['tree']) => {
      if (node.type === 'file' && isIrFile(node.path)) paths.push(node.path);
      for (const child of node.children ?? []) walk(child);
    };
    walk(tree.tree);
    if (paths.length > MAX_IR_FILES) throw new AppError('UNPROCESSABLE', `The IR may have at most ${MAX_IR_FILES} files`);
    const files: Record<string, string> = {};
    for (const path of paths.sort()) {
      files[path] = (await this.deps.files.read(principal, projectId, path)).content.toString('utf8');
    }
    return files;
  }

  async read(principal: Principal, projectId: string): Promise<ProjectModel> {
    const files = await this.load(principal, projectId);
    return { ...readModel(files), files: Object.keys(files) };
  }

  /** What the change would do and whether it is valid; nothing is written. */
  async preview(principal: Principal, projectId: string, changes: FileChanges): Promise<ChangeOutcome> {
    checkPaths(changes);
    const files = await this.load(principal, projectId);
    const diagnostics = validateChange(files, changes);
    const after = applyChanges(files, changes);
    return { valid: !hasErrors(diagnostics), diagnostics, diff: diffModels(readModel(files).model, readModel(after).model) };
  }

  /** Writes the change only if the model after it is valid; otherwise 422 with the diagnostics, nothing written. */
  async apply(principal: Principal, projectId: string, changes: FileChanges): Promise<ChangeOutcome> {
    const outcome = await this.preview(principal, projectId, changes);
    if (!outcome.valid) {
      throw new AppError('UNPROCESSABLE', 'The change would leave the IR invalid; nothing was written', {
        diagnostics: outcome.diagnostics,
      });
    }
    for (const [path, text] of Object.entries(changes).sort(([a], [b]) => a.localeCompare(b))) {
      if (text === null) await this.deps.files.remove(principal, projectId, path, false);
      else await this.deps.files.write(principal, projectId, path, Buffer.from(text, 'utf8'));
    }
    return outcome;
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

function applyChanges(files: Files, changes: FileChanges): Files {
  const after: Record<string, string> = { ...files };
  for (const [path, text] of Object.entries(changes)) {
    if (text === null) delete after[path];
    else after[path] = text;
  }
  return after;
}
