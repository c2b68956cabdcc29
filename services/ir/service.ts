/** The IR service: read a model with its diagnostics, check a proposed change, diff two models. Pure: no I/O. */
import { hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { mergeFiles } from './merge.js';
import type { Files, Model } from './model.js';
import { checkSemantics } from './semantics.js';

export { diffModels } from './diff.js';

export interface ModelReading {
  model: Model;
  diagnostics: Diagnostic[];
  /** True when no diagnostic is an error (warnings allowed). */
  valid: boolean;
}

/** Reads the `ir/**.yaml` files of `files` into one model; a broken file yields diagnostics, never a throw. */
export function readModel(files: Files): ModelReading {
  const { model, parsed, diagnostics } = mergeFiles(files);
  const all = sortDiagnostics([...diagnostics, ...checkSemantics(model, parsed)]);
  return { model, diagnostics: all, valid: !hasErrors(all) };
}

/** A proposed change: path -> new text, or null to delete the file. */
export type FileChanges = Readonly<Record<string, string | null>>;

/** The diagnostics the model would have with `changes` applied; neither input is modified. */
export function validateChange(files: Files, changes: FileChanges): Diagnostic[] {
  const next: Record<string, string> = { ...files };
  for (const [path, text] of Object.entries(changes)) {
    if (text === null) delete next[path];
    else next[path] = text;
  }
  return readModel(next).diagnostics;
}
