/**
 * OpenAI Chat Completions as the real API speaks it: `data:` chunks (role first, content pieces, `tool_calls`
 * fragments with index, id and name first and the arguments after, a chunk with `finish_reason`), a final usage
 * chunk when `stream_options.include_usage` asks for it, then `data: [DONE]`; errors as `{"error": {...}}`.
 */
import { wireId, type ResolvedReply } from './reply.js';
import type { RecordedRequest } from './script.js';
import { contentText, type Wire, type WireBody } from './wire.js';

const FINISH_REASONS: Record<ResolvedReply['stopReason'], string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  tool_use: 'tool_calls',
  max_tokens: 'length',
  refusal: 'content_filter',
};

const ERRORS: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  404: { type: 'invalid_request_error', code: 'model_not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
};

const data = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;

function usage(reply: ResolvedReply) {
  const { inputTokens, outputTokens, cacheWriteTokens, cacheReadTokens } = reply.usage;
  const promptTokens = inputTokens + cacheReadTokens + cacheWriteTokens;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: outputTokens,
    total_tokens: promptTokens + outputTokens,
    prompt_tokens_details: {
      cached_tokens: cacheReadTokens,
      audio_tokens: 0,
      ...(cacheWriteTokens > 0 ? { cache_write_tokens: cacheWriteTokens } : {}),
    },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export const openaiWire: Wire = {
  api: 'openai',

  streamFrames(reply, body: WireBody) {
    const includeUsage = body.stream_options?.include_usage === true;
    const base = {
      id: wireId('openai', 'message'),
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: reply.model,
      service_tier: 'default',
      system_fingerprint: 'fp_fake',
    };
    const chunk = (delta: unknown, finishReason: string | null = null) =>
      data({
        ...base,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        ...(includeUsage ? { usage: null } : {}),
      });
    const frames = [chunk({ role: 'assistant', content: '', refusal: null })];
    for (const content of reply.textChunks) frames.push(chunk({ content }));
    reply.toolCalls.forEach((call, index) => {
      frames.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
      for (const piece of call.pieces) frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    });
    frames.push(chunk({}, FINISH_REASONS[reply.stopReason]));
    if (includeUsage) frames.push(data({ ...base, choices: [], usage: usage(reply) }));
    frames.push('data: [DONE]\n\n');
    return frames;
  },

  streamErrorFrame(errorType, message) {
    const text = message ?? 'The server had an error while processing your request.';
    return data({ error: { message: text, type: errorType ?? 'server_error', param: null, code: null } });
  },

  json(reply) {
    const text = reply.textChunks.join('');
    const toolCalls = reply.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
    return {
      id: wireId('openai', 'message'),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: reply.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: text === '' ? null : text,
            refusal: null,
            annotations: [],
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: FINISH_REASONS[reply.stopReason],
        },
      ],
      usage: usage(reply),
      service_tier: 'default',
      system_fingerprint: 'fp_fake',
    };
  },

  error(status, errorType, message) {
    const known = ERRORS[status] ?? { type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null };
    const type = errorType ?? known.type;
    return { error: { message: message ?? `fake model: scripted ${status} ${type}`, type, param: null, code: known.code } };
  },

  contextOverflow(tokens, limit) {
    const message = `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`;
    return { status: 400, body: { error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } } };
  },

  prompt(body) {
    return JSON.stringify([body.messages ?? [], body.tools ?? []]);
  },

  streamRequested: (body) => body.stream === true,

  lastUserTurn(body): Pick<RecordedRequest, 'toolResults' | 'lastUserText'> {
    const messages: Array<Record<string, unknown>> = Array.isArray(body.messages) ? body.messages : [];
    // The tool results and the user's text that follow the last assistant turn.
    const after = messages.slice(messages.findLastIndex((m) => m.role === 'assistant') + 1);
    return {
      lastUserText: after.filter((m) => m.role === 'user').map((m) => contentText(m.content)).join('\n'),
      toolResults: after
        .filter((m) => m.role === 'tool')
        .map((m) => {
          const content = contentText(m.content);
          return { toolUseId: String(m.tool_call_id), content, isError: content.startsWith('Error:') };
        }),
    };
  },
};
