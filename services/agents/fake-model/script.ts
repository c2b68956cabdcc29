/**
 * What the fake model is told to do: per script, an ordered list of turns, one per request it receives. A turn
 * is a reply, an error, a stream that breaks, or silence; or a function of the request, so a test can answer
 * according to the tool results it got.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type WireApi = 'anthropic' | 'openai';

export interface FakeUsage {
  /** Uncached input; unset: estimated from the request's size. */
  inputTokens?: number;
  /** Unset: estimated from the reply's size. */
  outputTokens?: number;
  cacheWriteTokens?: number;
  cacheReadTokens?: number;
}

export interface FakeToolCall {
  /** Unset: a fresh `toolu_...` / `call_...` id. */
  id?: string;
  name: string;
  /** Sent as the call's JSON arguments, split across several chunks. */
  input?: unknown;
  /** The arguments exactly as sent (broken JSON included); takes the place of `input`. */
  rawArguments?: string;
}

export interface FakeReply {
  /** Anthropic only: a thinking block before the rest, with a signature the client must send back unchanged. */
  thinking?: string;
  /** A string is streamed word by word; an array is streamed as exactly these chunks. */
  text?: string | string[];
  toolCalls?: FakeToolCall[];
  /** Unset: `tool_use` when there are tool calls, else `end_turn` (mapped to `tool_calls` / `stop` for OpenAI). */
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'refusal';
  usage?: FakeUsage;
  /** Unset: the model the request asked for. */
  model?: string;
  /** A pause before each streamed event after the first. */
  chunkDelayMs?: number;
}

export type FakeTurn =
  | ({ kind: 'reply' } & FakeReply)
  /** An HTTP error in the API's own error shape (`body` replaces it); `errorType` defaults from the status. */
  | { kind: 'error'; status: number; errorType?: string; message?: string; headers?: Record<string, string>; body?: unknown }
  /** A 200 stream that sends `afterEvents` events of `reply`, then an error event (Anthropic `event: error`). */
  | { kind: 'stream_error'; afterEvents: number; errorType?: string; message?: string; reply?: FakeReply }
  /** The connection is cut after `afterEvents` events of `reply` (0: before any response). */
  | { kind: 'disconnect'; afterEvents: number; reply?: FakeReply }
  /** Nothing more is sent: no response at all (no `afterEvents`), or a stream that stalls after that many events. */
  | { kind: 'hang'; afterEvents?: number; reply?: FakeReply };

export type FakeTurnFn = (request: RecordedRequest) => FakeTurn | Promise<FakeTurn>;

export interface FakeScript {
  turns: Array<FakeTurn | FakeTurnFn>;
  /** Answers every request once the turns are spent (a model that never stops); unset: an error saying so. */
  otherwise?: FakeTurn | FakeTurnFn;
  /** A prompt estimated above this many tokens gets the API's real "prompt is too long" error (no turn spent). */
  contextWindowTokens?: number;
}

export type RequestOutcome = FakeTurn['kind'] | 'context_overflow' | 'script_exhausted' | 'no_script' | 'bad_request';

export interface RecordedRequest {
  /** Order of arrival at this server, from 1. */
  seq: number;
  /** The script that answered: the `x-fake-script` header, else the API key, else `default`. */
  script: string;
  api: WireApi;
  path: string;
  headers: IncomingHttpHeaders;
  /** The request body as sent (parsed JSON); `any` because tests read the wire format freely. */
  body: any;
  stream: boolean;
  /** The index of the turn that answered, when one did (not for `otherwise`). */
  turn: number | undefined;
  outcome: RequestOutcome;
  /** The prompt's size as the context window check sees it: about 4 characters a token. */
  estimatedTokens: number;
  /** The results of tool calls the request answers (the last user turn); OpenAI results starting `Error:` are errors. */
  toolResults: Array<{ toolUseId: string; content: string; isError: boolean }>;
  /** The text of the last user turn. */
  lastUserText: string;
}

const KINDS = new Set(['reply', 'error', 'stream_error', 'disconnect', 'hang']);

function checkTurn(turn: unknown, where: string): FakeTurn {
  const kind = (turn as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !KINDS.has(kind)) {
    throw new Error(`${where}: a turn needs "kind": one of ${[...KINDS].join(', ')}`);
  }
  return turn as FakeTurn;
}

function checkScript(value: unknown, where: string): FakeScript {
  const script = value as Partial<FakeScript> | null;
  if (!script || !Array.isArray(script.turns)) throw new Error(`${where}: a script needs "turns": [...]`);
  return {
    turns: script.turns.map((turn, index) => checkTurn(turn, `${where} turn ${index}`)),
    ...(script.otherwise !== undefined ? { otherwise: checkTurn(script.otherwise, `${where} otherwise`) } : {}),
    ...(script.contextWindowTokens !== undefined ? { contextWindowTokens: Number(script.contextWindowTokens) } : {}),
  };
}

/** A script file: one script (`{"turns": [...]}`, served as `default`) or several (`{"scripts": {"key": {...}}}`). */
export function parseScriptFile(text: string): Record<string, FakeScript> {
  const value = JSON.parse(text) as { scripts?: Record<string, unknown> };
  if (value.scripts === undefined) return { default: checkScript(value, 'script') };
  return Object.fromEntries(Object.entries(value.scripts).map(([key, script]) => [key, checkScript(script, `script "${key}"`)]));
}
