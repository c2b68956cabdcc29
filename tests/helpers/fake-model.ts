/** Providers pointed at the fake model server, with retries quick enough for tests. */
import type { FakeModelServer } from '../../services/agents/fake-model/index.js';
import { createProvider, type LlmProvider, type ProviderName, type RetryPolicy } from '../../services/agents/providers/index.js';

/** Backoff in milliseconds rather than seconds; a silent response is given up on after 5 s. */
export const FAST_RETRIES: Partial<RetryPolicy> = { baseDelayMs: 5, maxDelayMs: 20, stallTimeoutMs: 5_000 };

/** What a provider's `baseUrl` is for the fake server. */
export function fakeBaseUrl(server: FakeModelServer, provider: ProviderName): string {
  return provider === 'anthropic' ? server.url : server.openaiBaseUrl;
}

/** A provider whose requests the script named `scriptKey` answers (the key is its API key). */
export function fakeProvider(
  server: FakeModelServer,
  provider: ProviderName,
  scriptKey: string,
  retry: Partial<RetryPolicy> = {},
): LlmProvider {
  return createProvider(provider, { apiKey: scriptKey, baseUrl: fakeBaseUrl(server, provider), retry: { ...FAST_RETRIES, ...retry } });
}
