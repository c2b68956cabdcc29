/**
 * list_files, read_file, write_file, edit_file, search_files: the workspace through the files service (access,
 * path safety with symlinks, change events are its), with the model's input checked and its output capped.
 */
import { AppError } from '../../../lib/errors.js';
import type { Principal } from '../../../lib/access.js';
import { fieldsOf, MAX_CONTENT_BYTES, MAX_QUERY_BYTES, text, workspacePath } from './inputs.js';
import { once, sha256 } from './journal.js';
import { findPlaceholder, placeholderMessage } from './placeholders.js';
import { errorResult, failed, forDisplay, MODEL_OUTPUT_BYTES, ok, ToolInputError } from './results.js';
import type { ResolvedDeps, ToolSpec } from './tool-spec.js';
import type { ToolContext } from './types.js';

/** The largest file read_file reads (it shows the model at most MODEL_OUTPUT_BYTES of it). */
const READ_FILE_BYTES = 1024 * 1024;
const LIST_DEPTH = 3;
const SEARCH_RESULTS = 200;

interface TreeNode {
  name: string;
  path: string;
  type: string;
  size: number;
  target?: string;
  children?: TreeNode[];
}

/** A file's text, null when absent; refused when binary or too large to edit. */
async function readText(deps: ResolvedDeps, ctx: ToolContext, path: string): Promise<{ text: string; version: string; path: string } | null> {
  try {
    const file = await deps.files.read(ctx.principal, ctx.projectId, path, { maxBytes: MAX_CONTENT_BYTES });
    if (!file.contentType.startsWith('text/')) {
      throw new ToolInputError(`${path} is a binary file (${file.content.length} bytes); this tool only handles text`);
    }
    return { text: file.content.toString('utf8'), version: file.version, path: file.path };
  } catch (err) {
    if (err instanceof AppError && err.code === 'FILE_NOT_FOUND') return null;
    throw err;
  }
}

/** Whether the file at `path` now holds exactly `expected` (a retry asks whether its write happened). */
async function holds(deps: ResolvedDeps, principal: Principal, projectId: string, path: string, expected: string): Promise<boolean> {
  try {
    const file = await deps.files.read(principal, projectId, path, { maxBytes: MAX_CONTENT_BYTES });
    return sha256(file.content) === expected;
  } catch (err) {
    if (err instanceof AppError) return false;
    throw err;
  }
}

function listing(node: TreeNode, depth: number, lines: string[]): void {
  for (const child of node.children ?? []) {
    const indent = '  '.repeat(depth);
    if (child.type === 'directory') {
      lines.push(`${indent}${child.name}/`);
      if (child.children) listing(child, depth + 1, lines);
      else if (depth + 1 >= LIST_DEPTH) lines.push(`${indent}  ...`);
    } else if (child.type === 'symlink') lines.push(`${indent}${child.name} -> ${child.target ?? '?'}`);
    else lines.push(`${indent}${child.name} (${child.size} bytes)`);
  }
}

/** Every start index of `needle` in `haystack`, overlapping ones included (so "aa" in "aaa" is ambiguous). */
function occurrences(haystack: string, needle: string, max = 50): number[] {
  const found: number[] = [];
  let from = 0;
  while (found.length < max) {
    const at = haystack.indexOf(needle, from);
    if (at < 0) break;
    found.push(at);
    from = at + 1;
  }
  return found;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function fileTools(deps: ResolvedDeps): ToolSpec[] {
  const listFiles: ToolSpec = {
    definition: {
      name: 'list_files',
      inputSchema: {
        type: 'object',
        properties: { path: { type: 'string', description: 'A directory relative to /workspace; the workspace root when omitted.' } },
        additionalProperties: false,
      },
    },
    async run(call, ctx) {
      try {
        const fields = fieldsOf('list_files', call.input ?? {}, ['path']);
        const path = workspacePath('list_files', fields, 'path', true);
        const { tree, truncated } = await deps.files.tree(ctx.principal, ctx.projectId, { path, includeIgnored: false, depth: LIST_DEPTH });
        const lines: string[] = [];
        listing(tree as TreeNode, 0, lines);
        const where = tree.path === '' ? '/workspace' : tree.path;
        const head = lines.length === 0 ? `${where} is empty.` : `${where}:\n${lines.join('\n')}`;
        const note = truncated ? '\n[the listing stopped at the entry limit; list a subdirectory to see more]' : '';
        return ok(`${head}${note}`, {
          display: { kind: 'files', paths: lines.slice(0, 500) },
          hint: 'list a subdirectory to see the rest',
        });
      } catch (err) {
        return errorResult(err, 'list_files failed');
      }
    },
  };

  const readFile: ToolSpec = {
    definition: {
      name: 'read_file',
      inputSchema: {
        type: 'object',
        properties: { path: { type: 'string', description: 'The file, relative to /workspace.' } },
        required: ['path'],
        additionalProperties: false,
      },
    },
    async run(call, ctx) {
      try {
        const fields = fieldsOf('read_file', call.input, ['path']);
        const path = workspacePath('read_file', fields, 'path');
        const file = await deps.files.read(ctx.principal, ctx.projectId, path, { maxBytes: READ_FILE_BYTES }).catch((err: unknown) => {
          if (err instanceof AppError && err.code === 'PAYLOAD_TOO_LARGE') {
            throw new ToolInputError(`${path} is larger than ${READ_FILE_BYTES / 1024 / 1024} MiB; use search_files, or run_command with head, tail or sed -n to read parts of it`);
          }
          throw err;
        });
        if (!file.contentType.startsWith('text/')) {
          return ok(`${file.path} is a binary file of ${file.content.length} bytes; its contents are not shown.`);
        }
        const content = file.content.toString('utf8');
        return ok(content === '' ? `${file.path} is empty.` : content, {
          hint: `read the cut part with run_command, e.g. sed -n '100,200p' ${file.path}`,
        });
      } catch (err) {
        return errorResult(err, 'read_file failed');
      }
    },
  };

  const writeFile: ToolSpec = {
    definition: {
      name: 'write_file',
      inputSchema: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'The file, relative to /workspace.' },
          content: { type: 'string', description: 'The complete new content of the file.' },
        },
        required: ['path', 'content'],
        additionalProperties: false,
      },
    },
    run: (call, ctx) =>
      once(ctx, call, async (journal) => {
        try {
          const fields = fieldsOf('write_file', call.input, ['path', 'content']);
          const path = workspacePath('write_file', fields, 'path');
          const content = text('write_file', fields, 'content', { maxBytes: MAX_CONTENT_BYTES, allowEmpty: true });
          const after = sha256(content);
          const previous = journal.previous;
          if (previous && previous.after === after && (await holds(deps, ctx.principal, ctx.projectId, path, after))) {
            return previous.result as ReturnType<typeof ok>;
          }
          const before = await readText(deps, ctx, path);
          const placeholder = findPlaceholder(content, before?.text ?? null);
          if (placeholder !== null) return failed(placeholderMessage('write_file', placeholder));
          const rel = before?.path ?? path;
          const result = ok(
            before === null
              ? `Created ${rel} (${Buffer.byteLength(content)} bytes).`
              : before.text === content
                ? `${rel} already had exactly this content; nothing changed.`
                : `Wrote ${rel} (${Buffer.byteLength(content)} bytes, replacing ${Buffer.byteLength(before.text)}).`,
            {
              changedPaths: before?.text === content ? [] : [rel],
              display: { kind: 'diff', path: rel, before: forDisplay(before?.text ?? null), after: forDisplay(content) },
            },
          );
          if (before?.text === content) return result;
          await journal.intend({ after, result });
          await deps.files.write(ctx.principal, ctx.projectId, path, Buffer.from(content, 'utf8'));
          return result;
        } catch (err) {
          return errorResult(err, 'write_file failed');
        }
      }),
  };

  const editFile: ToolSpec = {
    definition: {
      name: 'edit_file',
      inputSchema: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'The file, relative to /workspace.' },
          old_text: { type: 'string', description: 'The exact text to replace; it must occur exactly once.' },
          new_text: { type: 'string', description: 'The text to put in its place (may be empty to delete it).' },
        },
        required: ['path', 'old_text', 'new_text'],
        additionalProperties: false,
      },
    },
    run: (call, ctx) =>
      once(ctx, call, async (journal) => {
        try {
          const fields = fieldsOf('edit_file', call.input, ['path', 'old_text', 'new_text']);
          const path = workspacePath('edit_file', fields, 'path');
          let oldText = text('edit_file', fields, 'old_text', { maxBytes: MAX_CONTENT_BYTES });
          let newText = text('edit_file', fields, 'new_text', { maxBytes: MAX_CONTENT_BYTES, allowEmpty: true });
          if (oldText === newText) return failed('edit_file: old_text and new_text are the same; nothing to change.');
          const previous = journal.previous;
          if (previous && typeof previous.after === 'string' && (await holds(deps, ctx.principal, ctx.projectId, path, previous.after))) {
            // The edit was written by an earlier attempt of this very call.
            return previous.result as ReturnType<typeof ok>;
          }
          const file = await readText(deps, ctx, path);
          if (file === null) {
            return failed(`edit_file: ${path} does not exist. Use write_file to create it, or list_files to find the right path.`);
          }
          let found = occurrences(file.text, oldText);
          // A file with Windows line ends: the model's text has plain ones.
          if (found.length === 0 && file.text.includes('\r\n') && !oldText.includes('\r\n')) {
            const crlf = oldText.replace(/\n/g, '\r\n');
            const again = occurrences(file.text, crlf);
            if (again.length > 0) {
              oldText = crlf;
              newText = newText.replace(/\r?\n/g, '\r\n');
              found = again;
            }
          }
          if (found.length === 0) {
            const trimmed = oldText.trim();
            const loose = trimmed !== '' && trimmed !== oldText ? occurrences(file.text, trimmed).length : 0;
            return failed(
              `edit_file: old_text was not found in ${file.path}; nothing changed. ` +
                (loose > 0
                  ? 'It occurs when its leading and trailing whitespace is removed: copy the text exactly as the file has it.'
                  : 'Whitespace, indentation and line breaks must match exactly; read_file shows the current text.'),
            );
          }
          if (found.length > 1) {
            const lines = found.slice(0, 10).map((index) => lineOf(file.text, index));
            return failed(
              `edit_file: old_text occurs ${found.length >= 50 ? '50 or more' : found.length} times in ${file.path} ` +
                `(at lines ${lines.join(', ')}${found.length > 10 ? ', ...' : ''}); nothing changed. ` +
                'Include more of the surrounding lines in old_text so that it matches exactly one place.',
            );
          }
          const placeholder = findPlaceholder(newText, file.text);
          if (placeholder !== null) return failed(placeholderMessage('edit_file', placeholder));
          const at = found[0]!;
          const updated = file.text.slice(0, at) + newText + file.text.slice(at + oldText.length);
          if (Buffer.byteLength(updated) > MAX_CONTENT_BYTES) {
            return failed(`edit_file: the file would grow past ${MAX_CONTENT_BYTES} bytes; nothing changed.`);
          }
          const line = lineOf(file.text, at);
          const result = ok(`Edited ${file.path} at line ${line}: replaced ${oldText.split('\n').length} line(s) with ${newText === '' ? 'nothing' : `${newText.split('\n').length} line(s)`}.`, {
            changedPaths: [file.path],
            display: { kind: 'diff', path: file.path, before: forDisplay(file.text), after: forDisplay(updated) },
          });
          await journal.intend({ after: sha256(updated), result });
          // Only if the file is still as it was read: a change in between fails the edit rather than being lost.
          await deps.files.write(ctx.principal, ctx.projectId, file.path, Buffer.from(updated, 'utf8'), { ifMatch: file.version });
          return result;
        } catch (err) {
          if (err instanceof AppError && err.code === 'VERSION_MISMATCH') {
            return failed('edit_file: the file changed while the edit was being made; nothing changed. Read it again and retry.');
          }
          return errorResult(err, 'edit_file failed');
        }
      }),
  };

  const searchFiles: ToolSpec = {
    definition: {
      name: 'search_files',
      inputSchema: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'The literal text to find (one line; not a regular expression).' },
          path: { type: 'string', description: 'A directory relative to /workspace; the whole workspace when omitted.' },
        },
        required: ['query'],
        additionalProperties: false,
      },
    },
    async run(call, ctx) {
      try {
        const fields = fieldsOf('search_files', call.input, ['query', 'path']);
        const query = text('search_files', fields, 'query', { maxBytes: MAX_QUERY_BYTES });
        if (/[\n\r\0]/.test(query)) throw new ToolInputError('search_files: the query is one line of text, without line breaks or NUL bytes');
        const path = workspacePath('search_files', fields, 'path', true);
        const result = await deps.files.search(ctx.principal, ctx.projectId, {
          query,
          path,
          maxResults: SEARCH_RESULTS,
          caseSensitive: false,
          includeIgnored: false,
        });
        if (result.matches.length === 0) {
          return ok(`No match for ${JSON.stringify(query)} in ${path === '' ? 'the workspace' : path} (${result.filesSearched} files searched).`);
        }
        const lines = result.matches.map((match) => `${match.path}:${match.line}: ${match.preview}`);
        const more = result.truncated ? `\n[stopped early: more matches may exist; narrow the query or the path]` : '';
        return ok(`${result.matches.length} match(es):\n${lines.join('\n')}${more}`, {
          display: { kind: 'files', paths: [...new Set(result.matches.map((match) => match.path))] },
          hint: 'narrow the query or the path',
        });
      } catch (err) {
        return errorResult(err, 'search_files failed');
      }
    },
  };

  return [listFiles, readFile, writeFile, editFile, searchFiles];
}
