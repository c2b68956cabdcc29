/** Plain text search across a workspace directory: text files only, ignored directories skipped, all capped. */
import { readFileIn } from './workspace-ops.js';
import { walk } from './tree.js';
import type { DirHandle } from '../../lib/workspace-paths.js';

export interface SearchMatch {
  path: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters of the line. */
  column: number;
  /** The line, cut to a readable length. */
  preview: string;
}

export interface SearchOptions {
  query: string;
  caseSensitive: boolean;
  maxResults: number;
  maxFileBytes: number;
  includeIgnored: boolean;
}

const PREVIEW_CHARS = 240;

/** A file with a NUL byte in its first 8 KiB is taken for binary, as git does. */
export function looksBinary(content: Buffer): boolean {
  return content.subarray(0, 8192).includes(0);
}

export async function searchText(
  root: DirHandle,
  options: SearchOptions,
): Promise<{ matches: SearchMatch[]; truncated: boolean; filesSearched: number }> {
  const matches: SearchMatch[] = [];
  const needle = options.caseSensitive ? options.query : options.query.toLowerCase();
  let filesSearched = 0;
  let truncated = false;
  await walk(root, { includeIgnored: options.includeIgnored, maxDepth: 64 }, async ({ dir, name, path, stat }) => {
    if (!stat.isFile() || stat.size > options.maxFileBytes || stat.size === 0) return true;
    let content: Buffer;
    try {
      content = await readFileIn(dir, name, options.maxFileBytes);
    } catch {
      return true; // changed or gone meanwhile
    }
    if (looksBinary(content)) return true;
    filesSearched += 1;
    const lines = content.toString('utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const column = (options.caseSensitive ? line : line.toLowerCase()).indexOf(needle);
      if (column < 0) continue;
      if (matches.length >= options.maxResults) {
        truncated = true;
        return false;
      }
      const start = Math.max(0, column - 80);
      matches.push({ path, line: i + 1, column: column + 1, preview: line.slice(start, start + PREVIEW_CHARS) });
    }
    return true;
  });
  return { matches, truncated, filesSearched };
}
