/**
 * The providers' public surface: the interface and its types, a factory, and the choice of provider and model
 * for a run. The agent loop sees `LlmProvider` only, never a provider's file.
 */
import { AnthropicProvider } from './anthropic.js';
import { OpenAiProvider } from './openai.js';
import type { LlmProvider, ProviderName, ProviderSettings } from './types.js';

export * from './types.js';
export { modelInfo, costUsd } from './pricing.js';
export { DEFAULT_RETRY_POLICY } from './retry.js';
export { unparsedToolInput, type UnparsedToolInput } from './tool-input.js';

export const PROVIDER_NAMES: readonly ProviderName[] = ['anthropic', 'openai'];

/** Each provider's model when neither the run nor `LLM_MODEL` names one. */
export const DEFAULT_MODELS: Record<ProviderName, string> = {
  anthropic: 'claude-sonnet-5-5',
  openai: 'gpt-5.4',
};

/** A provider with its own key, base URL and retry policy: settings per call, so a run may bring its own. */
export function createProvider(name: ProviderName, settings: ProviderSettings): LlmProvider {
  return name === 'anthropic' ? new AnthropicProvider(settings) : new OpenAiProvider(settings);
}

/** The deployment's choice (`LLM_PROVIDER`, `LLM_MODEL`): `config.llm` from lib/config.ts. */
export interface LlmDefaults {
  provider: ProviderName;
  /** Applies to the default provider only; unset: its entry in `DEFAULT_MODELS`. */
  model: string | undefined;
}

/** The provider and model a run uses: its own choice, else the deployment's default, else the provider's. */
export function resolveModel(
  defaults: LlmDefaults,
  choice: { provider?: ProviderName; model?: string } = {},
): { provider: ProviderName; model: string } {
  const provider = choice.provider ?? defaults.provider;
  const deploymentModel = provider === defaults.provider ? defaults.model : undefined;
  return { provider, model: choice.model ?? deploymentModel ?? DEFAULT_MODELS[provider] };
}
