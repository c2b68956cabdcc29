/** The IR service: read a model with its diagnostics, check a proposed change, diff two models. Pure: no I/O. */
import { hasErrors, sortDiagnostics, Suggester, type Diagnostic } from './diagnostics.js';
import { diffModels, type ModelDiff } from './diff.js';
import { IR_LIMITS } from './limits.js';
import { mergeFiles, type ParseCache } from './merge.js';
import type { Files, Model } from './model.js';
import { checkSemantics } from './semantics.js';

export { diffModels } from './diff.js';

export interface ModelReading {
  model: Model;
  diagnostics: Diagnostic[];
  /** True when no diagnostic is an error (warnings allowed). */
  valid: boolean;
}

/** IR files left unread because they are too large or too many: path -> why, in words. */
export type UnreadFiles = Readonly<Record<string, string>>;

/** A model's files as they are read from a workspace. */
export interface IrInput {
  files: Files;
  unread: UnreadFiles;
}

/** Reads the `ir/**.yaml` files of `files` into one model; a broken file yields diagnostics, never a throw. */
export function readModel(files: Files, unread: UnreadFiles = {}): ModelReading {
  return read(files, unread, new Suggester(), new Map());
}

function read(files: Files, unread: UnreadFiles, suggester: Suggester, cache: ParseCache): ModelReading {
  const { model, parsed, diagnostics } = mergeFiles(files, suggester, unread, cache);
  const all = sortDiagnostics(diagnostics.concat(checkSemantics(model, parsed, suggester)));
  return { model, diagnostics: capped(all), valid: !hasErrors(all) };
}

/** The first diagnostics, and a note saying how many more there are: a person fixes the first ones first. */
function capped(diagnostics: Diagnostic[]): Diagnostic[] {
  const { maxDiagnostics } = IR_LIMITS;
  if (diagnostics.length <= maxDiagnostics) return diagnostics;
  const first = diagnostics.slice(0, maxDiagnostics);
  const next = diagnostics[maxDiagnostics]!;
  first.push({
    code: 'LIMIT_EXCEEDED',
    severity: 'warning',
    file: next.file,
    line: next.line,
    column: next.column,
    pointer: next.pointer,
    message: `${diagnostics.length - maxDiagnostics} more diagnostics are not shown; fix these first`,
  });
  return first;
}

/** A proposed change: path -> new text, or null to delete the file. */
export type FileChanges = Readonly<Record<string, string | null>>;

export function applyChanges(files: Files, changes: FileChanges): Files {
  const next: Record<string, string> = { ...files };
  for (const [path, text] of Object.entries(changes)) {
    if (text === null) delete next[path];
    else next[path] = text;
  }
  return next;
}

/** The diagnostics the model would have with `changes` applied; neither input is modified. */
export function validateChange(files: Files, changes: FileChanges): Diagnostic[] {
  return readModel(applyChanges(files, changes)).diagnostics;
}

export interface ChangeOutcome {
  valid: boolean;
  diagnostics: Diagnostic[];
  diff: ModelDiff;
}

/** The model after `changes`, its diagnostics and what the change does; files the change leaves alone are parsed once. */
export function previewChange(files: Files, changes: FileChanges, unread: UnreadFiles = {}): ChangeOutcome {
  const suggester = new Suggester();
  const cache: ParseCache = new Map();
  const after = read(applyChanges(files, changes), withoutChanged(unread, changes), suggester, cache);
  // The model before is only diffed: its suggestions would be thrown away.
  const before = read(files, unread, new Suggester(0), cache);
  return { valid: after.valid, diagnostics: after.diagnostics, diff: diffModels(before.model, after.model) };
}

function withoutChanged(unread: UnreadFiles, changes: FileChanges): UnreadFiles {
  return Object.fromEntries(Object.entries(unread).filter(([path]) => !(path in changes)));
}
