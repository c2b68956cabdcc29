/**
 * Deciding what to write when generating again, so hand edits survive: a generated file is updated only if it
 * still has the content the generator last wrote; an edited one is kept and the new version goes beside it.
 * Pure: takes the workspace's current texts of the generated paths, returns the writes and the new record.
 */
import { createHash } from 'node:crypto';
import type { GeneratedFile, GeneratorManifest } from './plugin.js';

/** What a generator wrote last time; stored at `.vaporform/generated/<generator>.json`. */
export interface GenerationRecord {
  generator: string;
  version: string;
  /** path -> sha256 (hex) of the content the generator last wrote or accepted there. */
  files: Record<string, string>;
  /**
   * path -> sha256 of what the generator last produced for it, where that differs from `files` (a conflict
   * kept the person's file). Output equal to this is not new, so it is no conflict. Absent in older records.
   */
  produced?: Record<string, string>;
}

export interface Conflict {
  path: string;
  /** Where the new version is written instead (`<path>.generated`). */
  besidePath: string;
  reason: 'edited' | 'not-generated';
}

export interface WritePlan {
  /** Sorted by path; includes the `.generated` files of conflicts. */
  writes: Array<{ path: string; content: string }>;
  conflicts: Conflict[];
  /** Generated paths whose workspace content already equals the new content. */
  unchanged: string[];
  /** Edited generated paths left as they are because the generated output did not change since the last run. */
  kept: string[];
  /** Paths the previous generation wrote that this one no longer produces; left in place for the caller to decide. */
  orphaned: string[];
  record: GenerationRecord;
}

/** The largest generation record read; a larger one is ignored. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;
const MAX_RECORD_FIELD = 1000;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The record as the workspace holds it. The sandbox can rewrite it, so it is untrusted: anything but a
 * well-formed record of this generator is ignored, with a warning saying what that means.
 */
export function parseRecord(text: string, path: string, generator: string): { record: GenerationRecord | null; warning?: string } {
  const ignored = (why: string) => ({
    record: null,
    warning: `${path} ${why}; it was ignored, so every generated file that differs from the new output is treated as hand-edited`,
  });
  if (text.length > MAX_RECORD_BYTES) return ignored(`is larger than ${MAX_RECORD_BYTES} bytes`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return ignored('is not valid JSON');
  }
  const record = data as Partial<Record<keyof GenerationRecord, unknown>> | null;
  const isText = (value: unknown) => typeof value === 'string' && value.length <= MAX_RECORD_FIELD;
  if (typeof record !== 'object' || record === null || Array.isArray(record) || !isText(record.generator) || !isText(record.version)) {
    return ignored('is not a generation record');
  }
  if (record.generator !== generator) return ignored(`is the record of another generator (${String(record.generator)})`);
  const hashMap = (value: unknown): Record<string, string> | string => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a map';
    const hashes = new Map<string, string>();
    for (const [file, hash] of Object.entries(value)) {
      if (file.length > MAX_RECORD_FIELD || typeof hash !== 'string' || !SHA256_HEX.test(hash)) {
        return 'holds an entry that is not a path and a SHA-256';
      }
      hashes.set(file, hash);
    }
    return Object.fromEntries(hashes);
  };
  if (typeof record.files !== 'object' || record.files === null || Array.isArray(record.files)) return ignored('has no `files` map');
  const files = hashMap(record.files);
  if (typeof files === 'string') return ignored(files);
  const parsed: GenerationRecord = { generator, version: record.version as string, files };
  if (record.produced !== undefined) {
    const produced = hashMap(record.produced);
    if (typeof produced === 'string') return ignored(`\`produced\` ${produced}`);
    parsed.produced = produced;
  }
  return { record: parsed };
}

export const hashContent = (content: string): string => createHash('sha256').update(content, 'utf8').digest('hex');

export const BESIDE_SUFFIX = '.generated';

/**
 * @param previous the last record of this generator, or null on first generation
 * @param current the workspace's content at the generated paths (absent = no file there); other paths are ignored
 */
export function planWrite(
  previous: GenerationRecord | null,
  current: ReadonlyMap<string, string>,
  generated: GeneratedFile[],
  generator: Pick<GeneratorManifest, 'name' | 'version'>,
): WritePlan {
  const writes: WritePlan['writes'] = [];
  const conflicts: Conflict[] = [];
  const unchanged: string[] = [];
  const kept: string[] = [];
  const files: Record<string, string> = {};
  const produced: Record<string, string> = {};
  const sorted = [...generated].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sorted) {
    const now = current.get(file.path);
    const recorded = previous && Object.hasOwn(previous.files, file.path) ? previous.files[file.path] : undefined;
    const fresh = hashContent(file.content);
    const lastProduced = previous ? (previous.produced && Object.hasOwn(previous.produced, file.path) ? previous.produced[file.path] : recorded) : undefined;
    if (now === undefined) {
      writes.push({ path: file.path, content: file.content });
      files[file.path] = fresh;
    } else if (now === file.content) {
      unchanged.push(file.path);
      files[file.path] = fresh;
    } else if (recorded !== undefined && recorded === hashContent(now)) {
      writes.push({ path: file.path, content: file.content });
      files[file.path] = fresh;
    } else if (lastProduced === fresh) {
      // Edited (or never ours), but the generator says nothing new: no conflict, the file stays as it is.
      kept.push(file.path);
      files[file.path] = recorded ?? fresh;
      if (files[file.path] !== fresh) produced[file.path] = fresh;
    } else {
      // Keep what we last wrote as the record: if the person reverts their edit, the next run updates the file.
      // What was produced is remembered apart, so that the next run with the same output is no conflict.
      const besidePath = `${file.path}${BESIDE_SUFFIX}`;
      conflicts.push({ path: file.path, besidePath, reason: recorded === undefined ? 'not-generated' : 'edited' });
      writes.push({ path: besidePath, content: file.content });
      files[file.path] = recorded ?? fresh;
      if (files[file.path] !== fresh) produced[file.path] = fresh;
    }
  }
  const paths = new Set(sorted.map((f) => f.path));
  const orphaned = Object.keys(previous?.files ?? {}).filter((p) => !paths.has(p)).sort();
  writes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const record: GenerationRecord = { generator: generator.name, version: generator.version, files };
  if (Object.keys(produced).length > 0) record.produced = produced;
  return { writes, conflicts, unchanged, kept, orphaned, record };
}

/**
 * The generated files a change touches: those depending on the whole model (`*`) or on a changed element.
 * `changed` holds element ids or IR diff paths (`Order/Order/OrderEntity/status` counts as `Order/Order`).
 */
export function dependentFiles(files: GeneratedFile[], changed: string[]): GeneratedFile[] {
  const ids = new Set(changed.map((c) => c.split('/').slice(0, 2).join('/')));
  return files.filter((f) => f.dependsOn.includes('*') || f.dependsOn.some((d) => ids.has(d)));
}
