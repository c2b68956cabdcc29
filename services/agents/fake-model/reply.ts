/**
 * A scripted reply with every default filled in, ready for either wire format: the text in the chunks it is
 * streamed as, each tool call's arguments in the pieces they are streamed as, the stop reason and the usage.
 */
import { randomBytes } from 'node:crypto';
import type { FakeReply, WireApi } from './script.js';

export interface ResolvedToolCall {
  id: string;
  name: string;
  arguments: string;
  /** The arguments split across several chunks, as the real APIs stream them. */
  pieces: string[];
}

export interface ResolvedReply {
  /** Empty: no thinking block. */
  thinkingChunks: string[];
  /** The thinking block's signature. */
  signature: string;
  textChunks: string[];
  toolCalls: ResolvedToolCall[];
  stopReason: NonNullable<FakeReply['stopReason']>;
  usage: { inputTokens: number; outputTokens: number; cacheWriteTokens: number; cacheReadTokens: number };
  model: string;
  chunkDelayMs: number;
}

export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** Word by word, keeping the spaces, so the chunks join back into the text exactly. */
function words(text: string): string[] {
  return text.match(/\s*\S+\s*|\s+/g) ?? [];
}

function pieces(json: string): string[] {
  const size = Math.max(1, Math.min(24, Math.ceil(json.length / 3)));
  const out: string[] = [];
  for (let at = 0; at < json.length; at += size) out.push(json.slice(at, at + size));
  return out;
}

export function wireId(api: WireApi, kind: 'message' | 'call'): string {
  const random = randomBytes(12).toString('hex');
  if (kind === 'message') return api === 'anthropic' ? `msg_${random}` : `chatcmpl-${random}`;
  return api === 'anthropic' ? `toolu_${random}` : `call_${random}`;
}

export function resolveReply(reply: FakeReply, api: WireApi, request: { model: string; estimatedTokens: number }): ResolvedReply {
  const textChunks = (typeof reply.text === 'string' ? words(reply.text) : (reply.text ?? [])).filter((chunk) => chunk !== '');
  const toolCalls = (reply.toolCalls ?? []).map((call) => {
    const args = call.rawArguments ?? JSON.stringify(call.input ?? {});
    return { id: call.id ?? wireId(api, 'call'), name: call.name, arguments: args, pieces: pieces(args) };
  });
  const produced = textChunks.join('') + toolCalls.map((call) => call.name + call.arguments).join('');
  return {
    thinkingChunks: words(reply.thinking ?? ''),
    signature: `sig_${randomBytes(24).toString('base64url')}`,
    textChunks,
    toolCalls,
    stopReason: reply.stopReason ?? (toolCalls.length > 0 ? 'tool_use' : 'end_turn'),
    usage: {
      inputTokens: reply.usage?.inputTokens ?? request.estimatedTokens,
      outputTokens: reply.usage?.outputTokens ?? Math.max(1, estimateTokens(produced)),
      cacheWriteTokens: reply.usage?.cacheWriteTokens ?? 0,
      cacheReadTokens: reply.usage?.cacheReadTokens ?? 0,
    },
    model: reply.model ?? request.model,
    chunkDelayMs: reply.chunkDelayMs ?? 0,
  };
}
