/**
 * What is known of each model: context window, longest answer, and list price in US dollars per million tokens
 * (prices as published in December 2026; review them when a provider changes its price list). A model missing
 * here costs 0 and gets a conservative window, so the run works and the condensation stays safe.
 */
import type { ModelInfo, TokenUsage } from './types.js';

function model(
  contextWindowTokens: number,
  maxOutputTokens: number,
  input: number,
  output: number,
  cacheWrite: number,
  cacheRead: number,
): ModelInfo {
  return { contextWindowTokens, maxOutputTokens, price: { input, output, cacheWrite, cacheRead } };
}

const MODELS: Record<string, ModelInfo> = {
  // Anthropic: cache writes are the 5-minute ones (`ephemeral`), the kind the providers ask for.
  'claude-opus-5-5': model(1_000_000, 128_000, 4, 20, 5, 0.2),
  'claude-sonnet-5-5': model(1_000_000, 128_000, 2, 10, 2.5, 0.1),
  'claude-opus-5': model(1_000_000, 128_000, 5, 25, 6.25, 0.5),
  'claude-sonnet-5': model(1_000_000, 128_000, 2, 10, 2.5, 0.2),
  'claude-opus-4-5': model(200_000, 64_000, 5, 25, 6.25, 0.5),
  'claude-sonnet-4-6': model(200_000, 64_000, 3, 15, 3.75, 0.3),
  'claude-sonnet-4-5': model(200_000, 64_000, 3, 15, 3.75, 0.3),
  'claude-haiku-4-5': model(200_000, 64_000, 1, 5, 1.25, 0.1),
  // OpenAI: prompt caching is automatic; only the newest models bill cache writes (reported as cache_write_tokens).
  'gpt-5.6-sol': model(1_050_000, 128_000, 4, 20, 5, 0.4),
  'gpt-5.4': model(1_050_000, 128_000, 2.5, 15, 0, 0.25),
  'gpt-4.1': model(1_047_576, 32_768, 2, 8, 0, 0.5),
  'gpt-4o': model(128_000, 16_384, 2.5, 10, 0, 1.25),
  'gpt-4o-mini': model(128_000, 16_384, 0.15, 0.6, 0, 0.075),
};

export const UNKNOWN_MODEL: ModelInfo = model(128_000, 8_192, 0, 0, 0, 0);

/** A model by its name, a dated snapshot of it (`claude-haiku-4-5-20251001`) or a router's name (`openai/gpt-4o`). */
export function modelInfo(name: string): ModelInfo {
  const bare = name.slice(name.lastIndexOf('/') + 1).toLowerCase();
  return MODELS[bare] ?? MODELS[bare.replace(/-(\d{8}|\d{4}-\d{2}-\d{2})$/, '')] ?? UNKNOWN_MODEL;
}

export function costUsd(info: ModelInfo, usage: TokenUsage): number {
  const { price } = info;
  const micro =
    usage.inputTokens * price.input +
    usage.outputTokens * price.output +
    usage.cacheWriteTokens * price.cacheWrite +
    usage.cacheReadTokens * price.cacheRead;
  return micro / 1_000_000;
}
