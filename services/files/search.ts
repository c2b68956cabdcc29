/**
 * Plain text search across a workspace directory, run inside the project's sandbox by grep, so its cost is the
 * sandbox's own (CPU budget, and only what the sandbox user can read) and never the API's event loop. Bounded
 * in files, bytes per file, total bytes, matches, output and time; the query is a literal string handed to grep
 * as an argument, never through a shell. Whatever comes back is sandbox output: parsed defensively.
 */
import type { ExecRequest, ExecResult } from '../containers/index.js';
import { IGNORED_NAMES } from './tree.js';

export interface SearchMatch {
  path: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters of the line; 0 when the match lies beyond the part of a very long line that is read. */
  column: number;
  /** The line, cut to a readable length. */
  preview: string;
}

export interface SearchLimits {
  maxResults: number;
  /** Larger files are skipped. */
  maxFileBytes: number;
  /** Files beyond these are not searched (the result says truncated). */
  maxFiles: number;
  maxTotalBytes: number;
  timeoutMs: number;
}

export interface SearchOptions extends SearchLimits {
  query: string;
  caseSensitive: boolean;
  includeIgnored: boolean;
}

export interface SearchResult {
  matches: SearchMatch[];
  truncated: boolean;
  /** Files handed to grep; when the search was cut short, at least the files with a match. */
  filesSearched: number;
}

const PREVIEW_CHARS = 240;
/** Of each matching line, this much is read back (a minified bundle has lines of megabytes). */
const LINE_BYTES = 16 * 1024;
/** The most the search prints: below the exec output cap, so the cut is ours and on a line boundary. */
const OUTPUT_BYTES = 512 * 1024;
const CONTAINER_WORKSPACE = '/workspace';

/** A file with a NUL byte in its first 8 KiB is taken for binary, as git does. */
export function looksBinary(content: Buffer): boolean {
  return content.subarray(0, 8192).includes(0);
}

/**
 * find lists the regular files (pruning IGNORED_NAMES unless asked), mawk stops the list at the file and
 * byte budgets and reports what it let through on stderr, grep prints `path NUL line:text` per matching line,
 * and head stops everything once enough is printed. Absolute paths: the sandbox user owns ~/.local/bin.
 * Positional parameters: 1 directory, 2 prune (yes|no), 3 size limit + 1, 4 max files, 5 max bytes,
 * 6 line bytes, 7 max lines, 8 output bytes; the rest are grep's options and the query.
 */
const SCRIPT = `
dir=$1 prune=$2 size=$3 files=$4 bytes=$5 line=$6 lines=$7 output=$8
shift 8
if [ "$prune" = yes ]; then
  /usr/bin/find "$dir" \\( ${[...IGNORED_NAMES].map((name) => `-name ${name}`).join(' -o ')} \\) -prune -o -type f -size +0c -size -"$size"c -printf '%s %p\\0'
else
  /usr/bin/find "$dir" -type f -size +0c -size -"$size"c -printf '%s %p\\0'
fi 2>/dev/null |
  /usr/bin/mawk -v files="$files" -v bytes="$bytes" '
    BEGIN { RS = "\\0"; ORS = "\\0" }
    { n = index($0, " "); size = substr($0, 1, n - 1) + 0
      if (count >= files || total + size > bytes) { cut = 1; exit }
      count++; total += size; print substr($0, n + 1) }
    END { printf "vf-search files %d%s\\n", count, (cut ? " cut" : "") > "/dev/stderr" }' |
  /usr/bin/xargs -0 -r /usr/bin/grep -I -H -n -Z -s "$@" |
  /usr/bin/cut -b "-$line" | /usr/bin/head -n "$lines" | /usr/bin/head -c "$output"
`;

/** The command that searches `dir` (a real directory of the workspace, workspace-relative) in the sandbox. */
export function searchCommand(dir: string, options: SearchOptions): ExecRequest {
  const grepOptions = ['-F', ...(options.caseSensitive ? [] : ['-i']), '-e', options.query, '--'];
  return {
    command: [
      '/bin/sh',
      '-c',
      SCRIPT,
      'vaporform-search',
      dir === '' ? CONTAINER_WORKSPACE : `${CONTAINER_WORKSPACE}/${dir}`,
      options.includeIgnored ? 'no' : 'yes',
      String(options.maxFileBytes + 1),
      String(options.maxFiles),
      String(options.maxTotalBytes),
      String(LINE_BYTES),
      String(options.maxResults + 1),
      String(OUTPUT_BYTES),
      ...grepOptions,
    ],
    // A UTF-8 locale, so that -i folds more than ASCII; a PATH the sandbox user cannot plant programs in.
    env: { LC_ALL: 'C.UTF-8', PATH: '/usr/bin:/bin' },
    timeoutMs: options.timeoutMs,
  };
}

/** Reads grep's `path NUL line:text` records; anything else (a cut record, a forged one) is skipped. */
export function parseSearchOutput(result: ExecResult, options: SearchOptions): SearchResult {
  const out = result.stdout;
  const matches: SearchMatch[] = [];
  const files = new Set<string>();
  const needle = options.caseSensitive ? options.query : options.query.toLowerCase();
  const prefix = `${CONTAINER_WORKSPACE}/`;
  let records = 0;
  for (let start = 0; start < out.length; ) {
    const end = out.indexOf('\n', start);
    if (end < 0) break; // cut short by the output limit
    const record = out.slice(start, end);
    start = end + 1;
    records += 1;
    const nul = record.indexOf('\0');
    const number = nul < 0 ? null : /^(\d{1,10}):/.exec(record.slice(nul + 1, nul + 12));
    if (!number || !record.startsWith(prefix)) continue;
    const path = record.slice(prefix.length, nul);
    const text = record.slice(nul + 1 + number[0].length);
    const index = (options.caseSensitive ? text : text.toLowerCase()).indexOf(needle);
    const from = Math.max(0, index - 80);
    files.add(path);
    matches.push({ path, line: Number(number[1]), column: index + 1, preview: text.slice(from, from + PREVIEW_CHARS) });
  }
  const report = /^vf-search files (\d+)( cut)?$/m.exec(result.stderr);
  // No report: the pipeline was stopped early (enough lines printed, or the timeout). A last record without
  // its newline: the output was cut.
  const truncated =
    records > options.maxResults ||
    report === null ||
    report[2] !== undefined ||
    result.timedOut ||
    result.stdoutTruncated ||
    (out.length > 0 && !out.endsWith('\n'));
  matches.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line));
  return {
    matches: matches.slice(0, options.maxResults),
    truncated,
    filesSearched: Math.max(Number(report?.[1] ?? 0), files.size),
  };
}
