/**
 * The Anthropic Messages API as the real one speaks it: named SSE events (`message_start`, `content_block_start`,
 * `ping`, `content_block_delta` with `text_delta` / `input_json_delta`, `content_block_stop`, `message_delta`,
 * `message_stop`), the non-streaming message, and errors as `{"type":"error","error":{type, message}}`.
 */
import { randomBytes } from 'node:crypto';
import { wireId, type ResolvedReply } from './reply.js';
import type { RecordedRequest } from './script.js';
import { contentText, type Wire } from './wire.js';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const event = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

function errorBody(type: string, message: string) {
  return { type: 'error', error: { type, message }, request_id: `req_${randomBytes(12).toString('hex')}` };
}

function usage(reply: ResolvedReply) {
  return {
    input_tokens: reply.usage.inputTokens,
    cache_creation_input_tokens: reply.usage.cacheWriteTokens,
    cache_read_input_tokens: reply.usage.cacheReadTokens,
    output_tokens: reply.usage.outputTokens,
    service_tier: 'standard',
  };
}

function message(reply: ResolvedReply, content: unknown[], done: boolean) {
  return {
    id: wireId('anthropic', 'message'),
    type: 'message',
    role: 'assistant',
    model: reply.model,
    content,
    stop_reason: done ? reply.stopReason : null,
    stop_sequence: null,
    // message_start reports the input side and a first output token; message_delta brings the final count.
    usage: done ? usage(reply) : { ...usage(reply), output_tokens: 1 },
  };
}

/** A whole message always carries an object; scripted broken arguments can only be shown in a stream. */
function inputOf(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

export const anthropicWire: Wire = {
  api: 'anthropic',

  streamFrames(reply) {
    const frames = [event('message_start', { type: 'message_start', message: message(reply, [], false) })];
    const blocks: Array<{ start: unknown; deltas: unknown[] }> = [];
    if (reply.thinkingChunks.length > 0) {
      blocks.push({
        start: { type: 'thinking', thinking: '', signature: '' },
        deltas: [
          ...reply.thinkingChunks.map((thinking) => ({ type: 'thinking_delta', thinking })),
          { type: 'signature_delta', signature: reply.signature },
        ],
      });
    }
    if (reply.textChunks.length > 0) {
      blocks.push({
        start: { type: 'text', text: '' },
        deltas: reply.textChunks.map((text) => ({ type: 'text_delta', text })),
      });
    }
    for (const call of reply.toolCalls) {
      blocks.push({
        start: { type: 'tool_use', id: call.id, name: call.name, input: {} },
        // The real API opens every tool input with an empty piece.
        deltas: ['', ...call.pieces].map((partial_json) => ({ type: 'input_json_delta', partial_json })),
      });
    }
    blocks.forEach((block, index) => {
      frames.push(event('content_block_start', { type: 'content_block_start', index, content_block: block.start }));
      if (index === 0) frames.push(event('ping', { type: 'ping' }));
      for (const delta of block.deltas) frames.push(event('content_block_delta', { type: 'content_block_delta', index, delta }));
      frames.push(event('content_block_stop', { type: 'content_block_stop', index }));
    });
    if (blocks.length === 0) frames.push(event('ping', { type: 'ping' }));
    frames.push(
      event('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: reply.stopReason, stop_sequence: null },
        usage: { output_tokens: reply.usage.outputTokens },
      }),
      event('message_stop', { type: 'message_stop' }),
    );
    return frames;
  },

  streamErrorFrame(errorType, text) {
    return event('error', errorBody(errorType ?? 'overloaded_error', text ?? 'Overloaded'));
  },

  json(reply) {
    const text = reply.textChunks.join('');
    const thinking = reply.thinkingChunks.join('');
    return message(
      reply,
      [
        ...(thinking === '' ? [] : [{ type: 'thinking', thinking, signature: reply.signature }]),
        ...(text === '' ? [] : [{ type: 'text', text }]),
        ...reply.toolCalls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: inputOf(call.arguments) })),
      ],
      true,
    );
  },

  error(status, errorType, text) {
    const type = errorType ?? ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return errorBody(type, text ?? `fake model: scripted ${status} ${type}`);
  },

  contextOverflow(tokens, limit) {
    return { status: 400, body: errorBody('invalid_request_error', `prompt is too long: ${tokens} tokens > ${limit} maximum`) };
  },

  prompt(body) {
    return JSON.stringify([body.system ?? '', body.messages ?? [], body.tools ?? []]);
  },

  streamRequested: (body) => body.stream === true,

  lastUserTurn(body): Pick<RecordedRequest, 'toolResults' | 'lastUserText'> {
    const messages: Array<{ role?: string; content?: unknown }> = Array.isArray(body.messages) ? body.messages : [];
    const last = messages.findLast((m) => m.role === 'user');
    const blocks: Array<Record<string, unknown>> = Array.isArray(last?.content) ? last.content : [];
    return {
      lastUserText: contentText(last?.content),
      toolResults: blocks
        .filter((b) => b.type === 'tool_result')
        .map((b) => ({ toolUseId: String(b.tool_use_id), content: contentText(b.content), isError: b.is_error === true })),
    };
  },
};
