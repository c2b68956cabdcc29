/**
 * The one interface every LLM provider implements (as in vercel/ai): the agent loop, the tools and the tests
 * see only this. One file per provider beside it (`anthropic.ts`, `openai.ts`); the core never imports one.
 */

export type ProviderName = 'anthropic' | 'openai';

/** Part of a message. Tool calls and their results are paired by `id` / `toolUseId`. */
export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; toolUseId: string; content: string; isError?: boolean }
  /**
   * The model's reasoning (Anthropic's thinking blocks: current Claude models think by default). Not part of the
   * answer, but the API wants it back unchanged in the assistant turn that holds it, so keep it in the transcript
   * as is. `block` is the API's own block, signature included; a provider of another API leaves it out.
   */
  | { type: 'thinking'; text: string; block: unknown };

export interface LlmMessage {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export interface LlmTool {
  name: string;
  description: string;
  /** A JSON Schema object describing the tool's input. */
  inputSchema: Record<string, unknown>;
}

export interface LlmRequest {
  model: string;
  /**
   * The system prompt in parts: stable parts first (prompt, tool rules), changing parts last (the IR summary,
   * the goal). Providers cache the longest stable prefix (Anthropic `cache_control` on the tools and the last
   * stable part; OpenAI caches stable prefixes by itself).
   */
  system: Array<{ text: string; stable: boolean }>;
  messages: LlmMessage[];
  tools: LlmTool[];
  maxOutputTokens: number;
  temperature?: number;
  /** Aborts the request (and its stream); the call then rejects with a `ProviderError` of kind `aborted`. */
  signal?: AbortSignal;
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'refusal' | 'other';

/** Tokens of one model turn. `inputTokens` counts only the uncached input: cache writes and reads are apart. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
}

export interface LlmResponse {
  /** Text and tool_use blocks, in the order the model produced them. */
  content: ContentBlock[];
  stopReason: StopReason;
  usage: TokenUsage;
  /** In US dollars, from the model's price list (0 for a model without a known price). */
  costUsd: number;
  /** The model that answered, as the provider names it. */
  model: string;
  /** Attempts made (1 when the first succeeded). */
  attempts: number;
}

export interface StreamHandlers {
  /** Text as it arrives. */
  onTextDelta?(text: string): void;
  /** A retry is about to start: text delivered so far for this request is void (the answer starts again). */
  onRetry?(info: { attempt: number; delayMs: number; reason: string }): void;
  /** Called at least every few seconds while the request is alive (for activity heartbeats). */
  onProgress?(): void;
}

export type ProviderErrorKind =
  | 'rate_limited'
  | 'overloaded'
  | 'server'
  | 'network'
  | 'context_overflow'
  | 'auth'
  | 'bad_request'
  | 'aborted';

/** What a provider call failed with, after its retries. `retryable` says whether trying later may help. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  /** How long the API asked us to wait (`retry-after` / `retry-after-ms`), when it said. */
  readonly retryAfterMs?: number;

  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

export interface ModelInfo {
  contextWindowTokens: number;
  maxOutputTokens: number;
  /** US dollars per million tokens. */
  price: { input: number; output: number; cacheWrite: number; cacheRead: number };
}

/** How a provider retries: attempts in all (the first included) and the backoff between them. */
export interface RetryPolicy {
  maxAttempts: number;
  /** First backoff; doubled each retry, capped by `maxDelayMs`, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest `retry-after` honoured. */
  maxRetryAfterMs: number;
  /** A response that sends nothing for this long (no headers, or no event mid-stream) is abandoned and retried. */
  stallTimeoutMs: number;
}

/** Per provider instance, so a run may bring its own key and base URL. */
export interface ProviderSettings {
  /** Unset: every call fails with kind `auth` and says which variable to set. */
  apiKey?: string;
  /** Unset: the provider's own API. For `openai`, any OpenAI-compatible server (`http://host:port/v1`). */
  baseUrl?: string;
  retry?: Partial<RetryPolicy>;
}

export interface LlmProvider {
  readonly name: ProviderName;
  /** Streams one model turn; retries 429/5xx/overloaded with backoff (honouring retry-after) before it rejects. */
  stream(request: LlmRequest, handlers?: StreamHandlers): Promise<LlmResponse>;
  /** What is known of a model (a default for unknown models). */
  modelInfo(model: string): ModelInfo;
}
