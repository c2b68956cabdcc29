/**
 * A model's tool input is hostile: any JSON at all. These read the fields a tool expects and refuse the rest
 * with a message the model can act on (a ToolInputError, which becomes an error result).
 */
import { MAX_PATH_BYTES } from '../../../lib/workspace-paths.js';
import { ToolInputError } from './results.js';

/** The largest file content a tool writes (write_file, edit_file's texts). */
export const MAX_CONTENT_BYTES = 2 * 1024 * 1024;
export const MAX_COMMAND_BYTES = 16 * 1024;
export const MAX_QUERY_BYTES = 1024;

export type Fields = Record<string, unknown>;

/** The input as an object, with no fields but those named. */
export function fieldsOf(tool: string, input: unknown, allowed: readonly string[]): Fields {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ToolInputError(`${tool} takes a JSON object as input, e.g. ${example(tool)}`);
  }
  const unknown = Object.keys(input).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    const names = allowed.length === 0 ? 'no fields' : `only ${allowed.join(', ')}`;
    throw new ToolInputError(`${tool} takes ${names}; remove ${unknown.slice(0, 5).join(', ')}`);
  }
  return input as Fields;
}

function example(tool: string): string {
  return EXAMPLES[tool] ?? '{}';
}

const EXAMPLES: Record<string, string> = {
  read_ir: '{}',
  update_ir: '{"changes": {"ir/contexts/sales.yaml": "<the whole new file>"}}',
  list_files: '{"path": "src"}',
  read_file: '{"path": "src/index.js"}',
  write_file: '{"path": "src/index.js", "content": "<the whole file>"}',
  edit_file: '{"path": "src/index.js", "old_text": "<exact text, once in the file>", "new_text": "<replacement>"}',
  search_files: '{"query": "createOrder", "path": "src"}',
  run_command: '{"command": "npm test", "timeout_seconds": 120}',
  process_output: '{"process_id": "<id from run_command>"}',
  stop_process: '{"process_id": "<id from run_command>"}',
  run_generator: '{"generator": "typescript-http"}',
};

export function text(tool: string, fields: Fields, name: string, options: { maxBytes: number; optional?: false; allowEmpty?: boolean }): string;
export function text(tool: string, fields: Fields, name: string, options: { maxBytes: number; optional: true; allowEmpty?: boolean }): string | undefined;
export function text(
  tool: string,
  fields: Fields,
  name: string,
  options: { maxBytes: number; optional?: boolean; allowEmpty?: boolean },
): string | undefined {
  const value = fields[name];
  if (value === undefined || value === null) {
    if (options.optional) return undefined;
    throw new ToolInputError(`${tool} needs "${name}" (a string), e.g. ${example(tool)}`);
  }
  if (typeof value !== 'string') throw new ToolInputError(`"${name}" of ${tool} must be a string, not ${typeName(value)}`);
  if (!options.allowEmpty && value === '') throw new ToolInputError(`"${name}" of ${tool} must not be empty`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > options.maxBytes) {
    throw new ToolInputError(`"${name}" of ${tool} is ${bytes} bytes; at most ${options.maxBytes} are accepted`);
  }
  return value;
}

export function integer(tool: string, fields: Fields, name: string, range: { min: number; max: number }): number | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new ToolInputError(`"${name}" of ${tool} must be a whole number from ${range.min} to ${range.max}`);
  }
  return value;
}

export function boolean(tool: string, fields: Fields, name: string): boolean | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ToolInputError(`"${name}" of ${tool} must be true or false, not ${typeName(value)}`);
  return value;
}

/**
 * A workspace path as the files service takes it (relative to /workspace). `/workspace/...` is accepted as
 * the same path; any other absolute path is refused here, `..` past the root and links out by the service.
 */
export function workspacePath(tool: string, fields: Fields, name: string, optional = false): string {
  const raw = optional ? text(tool, fields, name, { maxBytes: MAX_PATH_BYTES, optional: true, allowEmpty: true }) : text(tool, fields, name, { maxBytes: MAX_PATH_BYTES });
  if (raw === undefined) return '';
  if (raw.includes('\0')) throw new ToolInputError(`"${name}" of ${tool} contains a NUL byte`);
  let path = raw.trim();
  if (path === '/workspace' || path === '/workspace/') return '';
  if (path.startsWith('/workspace/')) path = path.slice('/workspace/'.length);
  else if (path.startsWith('/')) {
    throw new ToolInputError(`"${name}" must be a path inside the workspace, relative to /workspace (e.g. "src/app.js"), not ${JSON.stringify(raw)}`);
  }
  if (path.startsWith('./')) path = path.slice(2);
  if (!optional && (path === '' || path === '.')) throw new ToolInputError(`"${name}" of ${tool} must name a file, not the workspace root`);
  return path === '.' ? '' : path;
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
