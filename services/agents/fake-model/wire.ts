/** What the server needs of a wire format; one implementation per API (wire-anthropic.ts, wire-openai.ts). */
import type { ResolvedReply } from './reply.js';
import type { RecordedRequest, WireApi } from './script.js';

/** A parsed request body; `any` because each wire format reads its own fields. */
export type WireBody = Record<string, any>;

export interface Wire {
  api: WireApi;
  /** Every event of a streamed reply, each a complete SSE frame, in order. */
  streamFrames(reply: ResolvedReply, body: WireBody): string[];
  /** The frame that reports an error in the middle of a stream. */
  streamErrorFrame(errorType: string | undefined, message: string | undefined): string;
  /** The whole reply, for a request without `stream: true`. */
  json(reply: ResolvedReply): unknown;
  /** The API's error body for a status. */
  error(status: number, errorType: string | undefined, message: string | undefined): unknown;
  /** The API's own answer to a prompt longer than the window. */
  contextOverflow(tokens: number, limit: number): { status: number; body: unknown };
  /** The prompt's text as counted against the context window. */
  prompt(body: WireBody): string;
  streamRequested(body: WireBody): boolean;
  lastUserTurn(body: WireBody): Pick<RecordedRequest, 'toolResults' | 'lastUserText'>;
}

/** The text of message content in either API: a string, or text parts among others. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: unknown }) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
    .join('');
}
