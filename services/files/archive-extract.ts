/**
 * Puts a checked archive (see archive.ts) in place below a workspace directory, all or nothing. The tree is
 * first compared with what is there, following nothing (a symlink where the archive has a directory is a
 * conflict, never a way elsewhere); then written whole into a staging directory of the workspace (so a full
 * disk stops it before anything changed); then moved into place entry by entry, with a journal that puts
 * everything back should a move fail (a sandbox changing the directory meanwhile).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { AppError } from '../../lib/errors.js';
import { relPath, type DirHandle, type Workspace } from '../../lib/workspace-paths.js';
import type { ArchiveNode } from './archive.js';
import { lstatIn, makeDirs, openChildDir, removeDirs, removeIn, SANDBOX_GID, SANDBOX_UID, writeFileIn } from './workspace-ops.js';

/** Staging directories at the workspace root: the watcher ignores them (see sandbox-watcher.ts). */
export const STAGING_NAME = /^\.vf-upload-[0-9a-f]{12}$/;

export interface ExtractResult {
  /** Every path the archive placed, workspace-relative, and whether something was there before. */
  changes: Array<{ path: string; kind: 'created' | 'modified' }>;
  counts: { files: number; directories: number; symlinks: number; bytes: number };
}

function conflict(parts: string[], why: string): AppError {
  return new AppError('CONFLICT', `"${relPath(parts)}" ${why}`, { path: relPath(parts) });
}

/** Compares the archive's tree with the directory, changing nothing. */
async function check(node: ArchiveNode, dir: DirHandle): Promise<void> {
  for (const [name, child] of node.children!) {
    const stat = await lstatIn(dir, name);
    if (!stat) continue;
    const parts = [...dir.parts, name];
    if (child.type !== 'directory') {
      if (stat.isDirectory()) throw conflict(parts, 'is a directory in the workspace and a file or link in the archive');
      continue;
    }
    if (!stat.isDirectory()) throw conflict(parts, 'exists in the workspace and is not a directory (links are not followed)');
    const below = await openChildDir(dir, name);
    try {
      await check(child, below);
    } finally {
      await below.close();
    }
  }
}

/** Writes the archive's tree into an empty directory, owned by the sandbox user. */
async function write(node: ArchiveNode, dir: DirHandle): Promise<void> {
  for (const [name, child] of node.children!) {
    if (child.type === 'file') {
      await writeFileIn(dir, name, child.data!, child.mode);
    } else if (child.type === 'symlink') {
      await fs.symlink(child.linkname!, dir.at(name));
      await fs.lchown(dir.at(name), SANDBOX_UID, SANDBOX_GID);
    } else {
      await fs.mkdir(dir.at(name), child.mode);
      await fs.lchown(dir.at(name), SANDBOX_UID, SANDBOX_GID);
      const below = await openChildDir(dir, name);
      try {
        await write(child, below);
      } finally {
        await below.close();
      }
    }
  }
}

function count(node: ArchiveNode, parts: string[], result: ExtractResult): void {
  const path = relPath(parts);
  if (parts.length > 0) result.changes.push({ path, kind: 'created' });
  if (node.type === 'file') {
    result.counts.files += 1;
    result.counts.bytes += node.data!.length;
  } else if (node.type === 'symlink') {
    result.counts.symlinks += 1;
  } else {
    if (parts.length > 0) result.counts.directories += 1;
    for (const [name, child] of node.children!) count(child, [...parts, name], result);
  }
}

/** Moves staged entries into place, remembering how to put back each one it moved. */
class Placement {
  private readonly journal: Array<() => Promise<void>> = [];

  constructor(
    private readonly ws: Workspace,
    private readonly backups: DirHandle,
    readonly result: ExtractResult,
  ) {}

  /** Moves the staged children of one directory into place; directories that exist already are merged. */
  async place(node: ArchiveNode, from: string[], to: string[]): Promise<void> {
    const { ws } = this;
    const merge: string[] = [];
    await ws.inDir(from, (staged) =>
      ws.inDir(to, async (target) => {
        for (const [name, child] of node.children!) {
          const stat = await lstatIn(target, name);
          const parts = [...to, name];
          if (child.type === 'directory' && stat?.isDirectory()) {
            merge.push(name);
            continue;
          }
          if (stat?.isDirectory()) throw conflict(parts, 'is a directory in the workspace and a file or link in the archive');
          if (stat && child.type === 'directory') throw conflict(parts, 'exists in the workspace and is not a directory');
          let backup: string | null = null;
          if (stat) {
            // A second name for what is replaced: the rename below stays atomic, and the old one can come back.
            backup = String(this.journal.length);
            await fs.link(target.at(name), this.backups.at(backup));
          }
          await fs.rename(staged.at(name), target.at(name));
          this.journal.push(() =>
            ws.inDir(to, async (again) => {
              if (backup === null) await removeIn(again, name, true);
              else await fs.rename(this.backups.at(backup), again.at(name));
            }),
          );
          if (stat) {
            this.result.changes.push({ path: relPath(parts), kind: 'modified' });
            this.result.counts[child.type === 'file' ? 'files' : 'symlinks'] += 1;
            this.result.counts.bytes += child.data?.length ?? 0;
          } else {
            count(child, parts, this.result);
          }
        }
      }),
    );
    for (const name of merge) await this.place(node.children!.get(name)!, [...from, name], [...to, name]);
  }

  /** Puts back everything moved so far, last first. */
  async undo(onUndoFailed: (err: unknown) => void): Promise<void> {
    for (const step of this.journal.reverse()) await step().catch(onUndoFailed);
  }
}

/**
 * Extracts `root` into the directory at `dest` (its `missing` components created), all or nothing.
 * `onUndoFailed` hears of a step that could not be put back after a failure (the failure itself is thrown).
 */
export async function extractArchive(
  ws: Workspace,
  dest: { parts: string[]; missing: string[] },
  root: ArchiveNode,
  onUndoFailed: (err: unknown) => void,
): Promise<ExtractResult> {
  if (dest.missing.length === 0) await ws.inDir(dest.parts, (dir) => check(root, dir));
  const staging = `.vf-upload-${randomBytes(6).toString('hex')}`;
  const result: ExtractResult = { changes: [], counts: { files: 0, directories: 0, symlinks: 0, bytes: 0 } };
  const createdDirs: string[][] = [];
  let staged = false;
  try {
    // Only the API can enter the staging directory (root, 0700): the sandbox cannot change what is staged.
    await ws.inDir([], (top) => fs.mkdir(top.at(staging), 0o700));
    staged = true;
    await ws.inDir([staging], async (dir) => {
      await fs.mkdir(dir.at('new'), 0o700);
      await fs.mkdir(dir.at('old'), 0o700);
    });
    await ws.inDir([staging, 'new'], (dir) => write(root, dir));
    const destParts = await makeDirs(ws, dest.parts, dest.missing, (parts) => createdDirs.push(parts));
    await ws.inDir([staging, 'old'], async (backups) => {
      const placement = new Placement(ws, backups, result);
      try {
        await placement.place(root, [staging, 'new'], destParts);
      } catch (err) {
        await placement.undo(onUndoFailed);
        throw err;
      }
    });
  } catch (err) {
    await removeDirs(ws, createdDirs).catch(onUndoFailed);
    throw ws.mapError(err, relPath([...dest.parts, ...dest.missing]));
  } finally {
    if (staged) await ws.inDir([], (top) => removeIn(top, staging, true)).catch(onUndoFailed);
  }
  result.changes.unshift(...createdDirs.map((parts) => ({ path: relPath(parts), kind: 'created' as const })));
  return result;
}
