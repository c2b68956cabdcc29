/**
 * Claude through the official SDK: the Messages API, streamed, with tools. Prompt caching marks three
 * breakpoints: the last tool, the last stable system part, and the end of the conversation (so each step
 * reads the transcript of the steps before it from the cache).
 */
import Anthropic, { APIConnectionError, APIError } from '@anthropic-ai/sdk';
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

const EPHEMERAL = { type: 'ephemeral' } as const;

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  // The answer was cut because the window is full: to the loop, the same as running out of output tokens.
  model_context_window_exceeded: 'max_tokens',
  stop_sequence: 'stop_sequence',
  refusal: 'refusal',
};

function system(request: LlmRequest): Anthropic.TextBlockParam[] {
  const parts = request.system.filter((part) => part.text !== '');
  const lastStable = parts.findLastIndex((part) => part.stable);
  return parts.map((part, index) => ({
    type: 'text',
    text: part.text,
    ...(index === lastStable ? { cache_control: EPHEMERAL } : {}),
  }));
}

function tools(request: LlmRequest): Anthropic.Tool[] {
  return request.tools.map((tool, index) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.inputSchema as Anthropic.Tool.InputSchema,
    ...(index === request.tools.length - 1 ? { cache_control: EPHEMERAL } : {}),
  }));
}

function block(content: ContentBlock): Anthropic.ContentBlockParam | undefined {
  switch (content.type) {
    case 'text':
      // The API rejects empty text blocks.
      return content.text === '' ? undefined : { type: 'text', text: content.text };
    case 'tool_use':
      return { type: 'tool_use', id: content.id, name: content.name, input: content.input ?? {} };
    case 'tool_result':
      return { type: 'tool_result', tool_use_id: content.toolUseId, content: content.content, is_error: content.isError ?? false };
    case 'thinking': {
      // Sent back exactly as received: the API checks the signature.
      const type = (content.block as { type?: unknown } | null)?.type;
      return type === 'thinking' || type === 'redacted_thinking' ? (content.block as Anthropic.ContentBlockParam) : undefined;
    }
  }
}

function messages(history: LlmMessage[]): Anthropic.MessageParam[] {
  const wire = history.flatMap((message): Anthropic.MessageParam[] => {
    const blocks = message.content.map(block).filter((b) => b !== undefined);
    // Tool results must open the user turn that answers the tool calls.
    blocks.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
    return blocks.length === 0 ? [] : [{ role: message.role, content: blocks }];
  });
  const last = wire.at(-1)?.content;
  const lastBlock = Array.isArray(last) ? last.at(-1) : undefined;
  if (lastBlock && lastBlock.type !== 'thinking' && lastBlock.type !== 'redacted_thinking') {
    Object.assign(lastBlock, { cache_control: EPHEMERAL });
  }
  return wire;
}

type Building =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; json: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string };

function finished(building: Building): ContentBlock {
  switch (building.type) {
    case 'text':
      return building;
    case 'tool_use':
      return { type: 'tool_use', id: building.id, name: building.name, input: parseToolArguments(building.json) };
    case 'thinking':
      return { type: 'thinking', text: building.thinking, block: building };
    case 'redacted_thinking':
      return { type: 'thinking', text: '', block: building };
  }
}

export class AnthropicProvider implements LlmProvider {
  readonly name = 'anthropic' as const;
  private readonly client: Anthropic | undefined;
  private readonly policy: RetryPolicy;

  constructor(settings: ProviderSettings) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...settings.retry };
    // Explicit values, so the SDK reads neither the environment nor credential files: lib/config.ts does.
    this.client = settings.apiKey
      ? new Anthropic({ apiKey: settings.apiKey, baseURL: settings.baseUrl ?? 'https://api.anthropic.com', maxRetries: 0 })
      : undefined;
  }

  modelInfo(model: string): ModelInfo {
    return modelInfo(model);
  }

  async stream(request: LlmRequest, handlers: StreamHandlers = {}): Promise<LlmResponse> {
    const client = this.client;
    if (!client) throw new ProviderError('auth', 'No Anthropic API key: set ANTHROPIC_API_KEY, or give the run its own key', false);
    const params: Anthropic.MessageCreateParamsStreaming = {
      model: request.model,
      max_tokens: request.maxOutputTokens,
      system: system(request),
      messages: messages(request.messages),
      stream: true,
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
    client: Anthropic,
    params: Anthropic.MessageCreateParamsStreaming,
    attempt: Attempt,
    handlers: StreamHandlers,
  ): Promise<Omit<LlmResponse, 'attempts' | 'costUsd'>> {
    const stream = await client.messages.create(params, { signal: attempt.signal });
    const blocks: Building[] = [];
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 };
    let model = params.model;
    let stopReason: StopReason = 'other';
    let complete = false;
    for await (const event of stream) {
      attempt.touch();
      switch (event.type) {
        case 'message_start':
          model = event.message.model;
          readUsage(usage, event.message.usage);
          break;
        case 'content_block_start': {
          const start = event.content_block;
          if (start.type === 'text') blocks[event.index] = { type: 'text', text: start.text };
          if (start.type === 'tool_use') blocks[event.index] = { type: 'tool_use', id: start.id, name: start.name, json: '' };
          if (start.type === 'thinking') blocks[event.index] = { type: 'thinking', thinking: start.thinking, signature: start.signature };
          if (start.type === 'redacted_thinking') blocks[event.index] = { type: 'redacted_thinking', data: start.data };
          break;
        }
        case 'content_block_delta': {
          const building = blocks[event.index];
          const { delta } = event;
          if (delta.type === 'text_delta' && building?.type === 'text') {
            building.text += delta.text;
            handlers.onTextDelta?.(delta.text);
          }
          if (delta.type === 'input_json_delta' && building?.type === 'tool_use') building.json += delta.partial_json;
          if (delta.type === 'thinking_delta' && building?.type === 'thinking') building.thinking += delta.thinking;
          if (delta.type === 'signature_delta' && building?.type === 'thinking') building.signature += delta.signature;
          break;
        }
        case 'message_delta':
          stopReason = STOP_REASONS[event.delta.stop_reason ?? ''] ?? 'other';
          readUsage(usage, event.usage);
          break;
        case 'message_stop':
          complete = true;
          break;
      }
      handlers.onProgress?.();
    }
    // The SDK ends the iteration quietly when the request is aborted, and so does a body cut off cleanly.
    if (!complete) throw incompleteStream('Anthropic');
    return { content: blocks.filter((b) => b !== undefined).map(finished), stopReason, usage, model };
  }

  private providerError(err: unknown): ProviderError {
    if (err instanceof APIConnectionError || isConnectionFailure(err)) return networkError('Anthropic', err);
    if (err instanceof APIError) {
      const message = err.apiMessage ?? err.message;
      return apiProviderError('Anthropic', { status: err.status, type: err.type, message, headers: err.headers }, err);
    }
    return unexpectedError('Anthropic', err);
  }
}

/** message_start carries the input side, message_delta the (cumulative) output and sometimes updated input. */
function readUsage(usage: TokenUsage, wire: Partial<Anthropic.MessageDeltaUsage>): void {
  if (typeof wire.input_tokens === 'number') usage.inputTokens = wire.input_tokens;
  if (typeof wire.output_tokens === 'number') usage.outputTokens = wire.output_tokens;
  if (typeof wire.cache_creation_input_tokens === 'number') usage.cacheWriteTokens = wire.cache_creation_input_tokens;
  if (typeof wire.cache_read_input_tokens === 'number') usage.cacheReadTokens = wire.cache_read_input_tokens;
}
