/** Walking a workspace directory: the file tree, and the files that search and archives go through. */
import { promises as fs, type Stats } from 'node:fs';
import { lstatIn, openChildDir } from './workspace-ops.js';
import { relPath, type DirHandle } from '../../lib/workspace-paths.js';

/** Directories too noisy to list, search or watch unless asked (a Python venv and byte-code are node_modules' kin). */
export const IGNORED_NAMES = new Set(['.git', 'node_modules', '.venv', '__pycache__']);

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface TreeNode {
  name: string;
  path: string;
  type: EntryType;
  size: number;
  modifiedAt: string;
  /** Symlinks only: where the link points, as written (not followed). */
  target?: string;
  children?: TreeNode[];
}

export function entryType(stat: Stats): EntryType {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  return 'other';
}

export interface WalkEntry {
  dir: DirHandle;
  name: string;
  /** Workspace-relative path. */
  path: string;
  stat: Stats;
}

export interface WalkOptions {
  includeIgnored: boolean;
  maxDepth: number;
}

/**
 * Visits every entry below a verified directory, depth first, names sorted; symlinks are reported, never
 * entered. `visit` returns false to stop the walk. Returns false when stopped.
 */
export async function walk(
  dir: DirHandle,
  options: WalkOptions,
  visit: (entry: WalkEntry, depth: number) => Promise<boolean | 'skip'> | boolean | 'skip',
  depth = 1,
): Promise<boolean> {
  const names = (await fs.readdir(dir.self)).sort();
  for (const name of names) {
    if (!options.includeIgnored && IGNORED_NAMES.has(name)) continue;
    const stat = await lstatIn(dir, name);
    if (!stat) continue; // gone meanwhile
    const decision = await visit({ dir, name, path: relPath([...dir.parts, name]), stat }, depth);
    if (decision === false) return false;
    if (decision === 'skip' || !stat.isDirectory() || depth >= options.maxDepth) continue;
    let child: DirHandle;
    try {
      child = await openChildDir(dir, name);
    } catch {
      continue; // replaced by something else meanwhile
    }
    try {
      if (!(await walk(child, options, visit, depth + 1))) return false;
    } finally {
      await child.close();
    }
  }
  return true;
}

/** The tree below a directory, as nested nodes; `truncated` when `maxEntries` was reached. */
export async function buildTree(
  root: DirHandle,
  rootNode: TreeNode,
  options: WalkOptions & { maxEntries: number },
): Promise<{ tree: TreeNode; truncated: boolean; count: number }> {
  const byPath = new Map<string, TreeNode>([[rootNode.path, rootNode]]);
  rootNode.children = [];
  let count = 0;
  const complete = await walk(root, options, async ({ dir, name, path, stat }) => {
    if (count >= options.maxEntries) return false;
    count += 1;
    const type = entryType(stat);
    const node: TreeNode = { name, path, type, size: stat.size, modifiedAt: stat.mtime.toISOString() };
    if (type === 'symlink') node.target = await fs.readlink(dir.at(name)).catch(() => '');
    if (type === 'directory') node.children = [];
    byPath.get(relPath(dir.parts))?.children?.push(node);
    byPath.set(path, node);
    return true;
  });
  return { tree: rootNode, truncated: !complete, count };
}
