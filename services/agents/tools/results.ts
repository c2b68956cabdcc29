/**
 * What a tool hands back: output capped for the model (head and tail kept, a note saying what was cut), the
 * IDE's card capped too, and the services' errors turned into results the model can act on.
 */
import { AppError } from '../../../lib/errors.js';
import type { ToolDisplay, ToolResult } from './types.js';

/** The most a tool result gives the model, in bytes of UTF-8. */
export const MODEL_OUTPUT_BYTES = 16 * 1024;
/** The most of one file a diff card carries (before and after each); larger files show no contents. */
export const DISPLAY_FILE_BYTES = 64 * 1024;
/** The most command output a card carries. */
export const DISPLAY_OUTPUT_BYTES = 32 * 1024;

/** A tool's input the model got wrong (type, size, path): becomes an error result, never a throw. */
export class ToolInputError extends Error {
  override readonly name = 'ToolInputError';
}

/** The first `bytes` of UTF-8 text, never splitting a character. */
export function headBytes(text: string, bytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= bytes) return text;
  let end = bytes;
  while (end > 0 && (buffer[end]! & 0xc0) === 0x80) end--;
  return buffer.subarray(0, end).toString('utf8');
}

/** The last `bytes` of UTF-8 text, never splitting a character. */
export function tailBytes(text: string, bytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= bytes) return text;
  let start = buffer.length - bytes;
  while (start < buffer.length && (buffer[start]! & 0xc0) === 0x80) start++;
  return buffer.subarray(start).toString('utf8');
}

/**
 * Text within `limit` bytes: the head and the tail kept (errors are often at the end), the middle replaced by
 * a note saying how much was cut and how to see it, when it had to be.
 */
export function capText(text: string, limit = MODEL_OUTPUT_BYTES, hint = ''): { text: string; truncated: boolean } {
  const size = Buffer.byteLength(text, 'utf8');
  if (size <= limit) return { text, truncated: false };
  const note = `\n[... ${size - limit} bytes cut here: the output was ${size} bytes and at most ${limit} are shown${hint ? `; ${hint}` : ''} ...]\n`;
  const room = Math.max(0, limit - Buffer.byteLength(note));
  const head = headBytes(text, Math.floor(room * 0.4));
  const tail = tailBytes(text, room - Buffer.byteLength(head));
  return { text: `${head}${note}${tail}`, truncated: true };
}

export function ok(content: string, extra: { changedPaths?: string[]; display?: ToolDisplay; hint?: string } = {}): ToolResult {
  return {
    content: capText(content, MODEL_OUTPUT_BYTES, extra.hint).text,
    isError: false,
    changedPaths: extra.changedPaths ?? [],
    ...(extra.display ? { display: extra.display } : {}),
  };
}

export function failed(message: string, display?: ToolDisplay): ToolResult {
  return { content: capText(message).text, isError: true, changedPaths: [], ...(display ? { display } : {}) };
}

/** A file's text for a diff card, or null when it is absent or too large to show. */
export function forDisplay(text: string | null): string | null {
  if (text === null) return null;
  return Buffer.byteLength(text, 'utf8') <= DISPLAY_FILE_BYTES ? text : `[${Buffer.byteLength(text, 'utf8')} bytes: too large to show]`;
}

/** Codes a model can act on (its input, a path, a conflict): everything below 500. */
function isModelFacing(err: AppError): boolean {
  return err.status < 500 || err.code === 'QUOTA_EXCEEDED' || err.code === 'TIMEOUT';
}

/**
 * An error of a service as the model reads it; errors of ours or of a component (a 5xx, a bug) are thrown
 * on, so the activity fails and is retried rather than the model being told to fix what it cannot.
 */
export function errorResult(err: unknown, context = ''): ToolResult {
  if (err instanceof ToolInputError) return failed(err.message);
  if (err instanceof AppError && isModelFacing(err)) {
    const prefix = context ? `${context}: ` : '';
    return failed(`${prefix}${err.message} (${err.code})${detailsText(err.details)}`);
  }
  throw err;
}

function detailsText(details: unknown): string {
  if (details === undefined || details === null || typeof details !== 'object') return '';
  const { diagnostics: _diagnostics, ...rest } = details as Record<string, unknown>;
  const keys = Object.keys(rest);
  if (keys.length === 0) return '';
  return `\n${headBytes(JSON.stringify(rest), 2048)}`;
}
