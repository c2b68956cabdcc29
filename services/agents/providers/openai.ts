/**
 * OpenAI, or any OpenAI-compatible server (vLLM, llama.cpp, Ollama, a router) through its base URL, via the
 * official SDK: Chat Completions, streamed, with tools. Caching is the API's own, on the longest repeated prefix,
 * so the system text puts its stable parts first and the changing ones after.
 */
import { randomUUID } from 'node:crypto';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import { costUsd, modelInfo } from './pricing.js';
import {
  apiProviderError,
  DEFAULT_RETRY_POLICY,
  incompleteStream,
  isConnectionFailure,
  networkError,
  unexpectedError,
  withRetries,
  type Attempt,
} from './retry.js';
import { parseToolArguments } from './tool-input.js';
import {
  ProviderError,
  type ContentBlock,
  type LlmMessage,
  type LlmProvider,
  type LlmRequest,
  type LlmResponse,
  type ModelInfo,
  type ProviderSettings,
  type RetryPolicy,
  type StopReason,
  type StreamHandlers,
  type TokenUsage,
} from './types.js';

type WireMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

const STOP_REASONS: Record<string, StopReason> = {
  stop: 'end_turn',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  length: 'max_tokens',
  content_filter: 'refusal',
};

function systemText(request: LlmRequest): string {
  const stable = request.system.filter((part) => part.stable);
  const changing = request.system.filter((part) => !part.stable);
  return [...stable, ...changing]
    .map((part) => part.text)
    .filter((text) => text !== '')
    .join('\n\n');
}

function text(blocks: ContentBlock[]): string {
  return blocks.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
}

/** Our user turn becomes the `tool` messages answering the calls (first, as the API wants), then the user's text. */
function wireMessages(history: LlmMessage[]): WireMessage[] {
  return history.flatMap((message): WireMessage[] => {
    if (message.role === 'assistant') {
      const calls = message.content.flatMap((b) => (b.type === 'tool_use' ? [b] : []));
      const content = text(message.content);
      if (calls.length === 0 && content === '') return [];
      return [
        {
          role: 'assistant',
          content: content === '' ? null : content,
          ...(calls.length > 0
            ? {
                tool_calls: calls.map((call) => ({
                  id: call.id,
                  type: 'function' as const,
                  function: { name: call.name, arguments: JSON.stringify(call.input ?? {}) },
                })),
              }
            : {}),
        },
      ];
    }
    const results = message.content.flatMap((b): WireMessage[] =>
      b.type === 'tool_result'
        ? [{ role: 'tool', tool_call_id: b.toolUseId, content: b.isError ? `Error: ${b.content}` : b.content }]
        : [],
    );
    const content = text(message.content);
    return content === '' ? results : [...results, { role: 'user', content }];
  });
}

function tools(request: LlmRequest): OpenAI.Chat.Completions.ChatCompletionTool[] {
  return request.tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
  }));
}

/** `prompt_tokens` includes the cached ones; ours keeps uncached input, cache reads and cache writes apart. */
function readUsage(wire: OpenAI.CompletionUsage): TokenUsage {
  const cacheReadTokens = wire.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWriteTokens = wire.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    inputTokens: Math.max(0, wire.prompt_tokens - cacheReadTokens - cacheWriteTokens),
    outputTokens: wire.completion_tokens,
    cacheWriteTokens,
    cacheReadTokens,
  };
}

interface BuildingCall {
  id: string;
  name: string;
  args: string;
}

export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai' as const;
  private readonly client: OpenAI | undefined;
  private readonly policy: RetryPolicy;

  constructor(settings: ProviderSettings) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...settings.retry };
    // Explicit values, so the SDK does not read the environment: lib/config.ts does.
    this.client = settings.apiKey
      ? new OpenAI({
          apiKey: settings.apiKey,
          baseURL: settings.baseUrl ?? 'https://api.openai.com/v1',
          organization: null,
          project: null,
          maxRetries: 0,
        })
      : undefined;
  }

  modelInfo(model: string): ModelInfo {
    return modelInfo(model);
  }

  async stream(request: LlmRequest, handlers: StreamHandlers = {}): Promise<LlmResponse> {
    const client = this.client;
    if (!client) {
      throw new ProviderError('auth', 'No OpenAI API key: set OPENAI_API_KEY (any value for a local server that needs none)', false);
    }
    const system = systemText(request);
    const params: OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming = {
      model: request.model,
      messages: [...(system === '' ? [] : [{ role: 'system' as const, content: system }]), ...wireMessages(request.messages)],
      // The current name of the limit; servers that only know `max_tokens` ignore it and use their own limit.
      max_completion_tokens: request.maxOutputTokens,
      stream: true,
      stream_options: { include_usage: true },
      // An empty tools array is rejected by some compatible servers.
      ...(request.tools.length > 0 ? { tools: tools(request) } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    };
    const { value, attempts } = await withRetries(
      this.policy,
      request.signal,
      handlers,
      (err) => this.providerError(err),
      (attempt) => this.attempt(client, params, attempt, handlers),
    );
    return { ...value, attempts, costUsd: costUsd(this.modelInfo(value.model), value.usage) };
  }

  private async attempt(
    client: OpenAI,
    params: OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming,
    attempt: Attempt,
    handlers: StreamHandlers,
  ): Promise<Omit<LlmResponse, 'attempts' | 'costUsd'>> {
    const stream = await client.chat.completions.create(params, { signal: attempt.signal });
    let textSoFar = '';
    const calls: BuildingCall[] = [];
    let usage: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
    let model = params.model;
    let finishReason: string | undefined;
    for await (const chunk of stream as AsyncIterable<Chunk>) {
      attempt.touch();
      if (chunk.model) model = chunk.model;
      if (chunk.usage) usage = readUsage(chunk.usage);
      // Only one choice is asked for (n = 1).
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        textSoFar += choice.delta.content;
        handlers.onTextDelta?.(choice.delta.content);
      }
      for (const fragment of choice?.delta.tool_calls ?? []) {
        // The first fragment of a call carries its id and name; the arguments follow in pieces.
        const call = (calls[fragment.index] ??= { id: '', name: '', args: '' });
        if (fragment.id) call.id = fragment.id;
        if (fragment.function?.name && !call.name) call.name = fragment.function.name;
        call.args += fragment.function?.arguments ?? '';
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      handlers.onProgress?.();
    }
    // The SDK ends the iteration quietly when the request is aborted, and so does a body cut off cleanly.
    if (finishReason === undefined) throw incompleteStream('OpenAI');
    const toolUses = calls
      .filter((call) => call !== undefined)
      .map((call): ContentBlock => ({
        type: 'tool_use',
        // Some compatible servers send no id; the transcript needs one to pair the result with the call.
        id: call.id || `call_${randomUUID().replaceAll('-', '')}`,
        name: call.name,
        input: parseToolArguments(call.args),
      }));
    const content: ContentBlock[] = [...(textSoFar === '' ? [] : [{ type: 'text' as const, text: textSoFar }]), ...toolUses];
    // Some compatible servers finish a turn of tool calls with `stop`.
    const stopReason = toolUses.length > 0 && finishReason === 'stop' ? 'tool_use' : (STOP_REASONS[finishReason] ?? 'other');
    return { content, stopReason, usage, model };
  }

  private providerError(err: unknown): ProviderError {
    if (err instanceof APIConnectionError || isConnectionFailure(err)) return networkError('OpenAI', err);
    if (err instanceof APIError) {
      const body = err.error as { message?: unknown } | undefined;
      const message = typeof body?.message === 'string' ? body.message : err.message;
      return apiProviderError('OpenAI', { status: err.status, type: err.type, code: err.code, message, headers: err.headers }, err);
    }
    return unexpectedError('OpenAI', err);
  }
}
