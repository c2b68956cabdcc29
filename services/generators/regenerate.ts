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
  /** Paths the previous generation wrote that this one no longer produces; left in place for the caller to decide. */
  orphaned: string[];
  record: GenerationRecord;
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
  const files: Record<string, string> = {};
  const sorted = [...generated].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sorted) {
    const now = current.get(file.path);
    const recorded = previous?.files[file.path];
    const fresh = hashContent(file.content);
    if (now === undefined) {
      writes.push({ path: file.path, content: file.content });
      files[file.path] = fresh;
    } else if (now === file.content) {
      unchanged.push(file.path);
      files[file.path] = fresh;
    } else if (recorded !== undefined && recorded === hashContent(now)) {
      writes.push({ path: file.path, content: file.content });
      files[file.path] = fresh;
    } else {
      // Keep what we last wrote as the record: if the person reverts their edit, the next run updates the file.
      const besidePath = `${file.path}${BESIDE_SUFFIX}`;
      conflicts.push({ path: file.path, besidePath, reason: recorded === undefined ? 'not-generated' : 'edited' });
      writes.push({ path: besidePath, content: file.content });
      files[file.path] = recorded ?? fresh;
    }
  }
  const produced = new Set(sorted.map((f) => f.path));
  const orphaned = Object.keys(previous?.files ?? {}).filter((p) => !produced.has(p)).sort();
  writes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { writes, conflicts, unchanged, orphaned, record: { generator: generator.name, version: generator.version, files } };
}

/**
 * The generated files a change touches: those depending on the whole model (`*`) or on a changed element.
 * `changed` holds element ids or IR diff paths (`Order/Order/OrderEntity/status` counts as `Order/Order`).
 */
export function dependentFiles(files: GeneratedFile[], changed: string[]): GeneratedFile[] {
  const ids = new Set(changed.map((c) => c.split('/').slice(0, 2).join('/')));
  return files.filter((f) => f.dependsOn.includes('*') || f.dependsOn.some((d) => ids.has(d)));
}
