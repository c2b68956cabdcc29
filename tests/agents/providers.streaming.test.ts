/**
 * Both providers, through the real SDK clients, against the fake model server speaking each wire format:
 * streaming, tool calls, usage and cost, retries, broken streams, context overflow, aborts, bad tool arguments.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer, type FakeScript } from '../../services/agents/fake-model/index.js';
import {
  createProvider,
  modelInfo,
  ProviderError,
  unparsedToolInput,
  type LlmRequest,
  type ProviderName,
  type RetryPolicy,
  type StreamHandlers,
} from '../../services/agents/providers/index.js';
import { fakeBaseUrl, fakeProvider } from '../helpers/fake-model.js';

let server: FakeModelServer;
beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(async () => {
  await server.close();
});

const MODEL = 'claude-sonnet-5-5';

function request(overrides: Partial<LlmRequest> = {}): LlmRequest {
  return {
    model: MODEL,
    system: [{ text: 'You build apps.', stable: true }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Add an Order aggregate.' }] }],
    tools: [{ name: 'read_file', description: 'Reads a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } }],
    maxOutputTokens: 1024,
    ...overrides,
  };
}

/** A fresh script under a fresh key, and a provider whose requests it answers. */
function scripted(provider: ProviderName, script: FakeScript, retry: Partial<RetryPolicy> = {}) {
  const key = `key-${randomUUID()}`;
  server.setScript(key, script);
  return { key, llm: fakeProvider(server, provider, key, retry) };
}

/** Handlers that keep what they were told, in order. */
function recorder() {
  const log: Array<{ text: string } | { retry: { attempt: number; delayMs: number; reason: string } } | 'progress'> = [];
  const handlers: StreamHandlers = {
    onTextDelta: (text) => void log.push({ text }),
    onRetry: (info) => void log.push({ retry: info }),
    onProgress: () => void log.push('progress'),
  };
  const texts = () => log.flatMap((entry) => (typeof entry === 'object' && 'text' in entry ? [entry.text] : []));
  const retries = () => log.flatMap((entry) => (typeof entry === 'object' && 'retry' in entry ? [entry.retry] : []));
  return { log, handlers, texts, retries };
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe.each(['anthropic', 'openai'] as const)('%s provider against the fake model', (provider) => {
  it('streams text in order and reassembles tool calls whose JSON arrives in pieces', async () => {
    const input = { path: 'services/orders/order.ts', options: { lines: [1, 40], note: 'quote " and \\ and ünïcode' } };
    const { key, llm } = scripted(provider, {
      turns: [
        {
          kind: 'reply',
          text: 'Let me look at the existing code first.',
          toolCalls: [
            { id: 'call_1', name: 'read_file', input },
            { id: 'call_2', name: 'list_files', input: {} },
          ],
        },
      ],
    });
    const { handlers, texts, log } = recorder();
    const response = await llm.stream(request(), handlers);

    expect(texts().length).toBeGreaterThan(3);
    expect(texts().join('')).toBe('Let me look at the existing code first.');
    expect(response.content).toEqual([
      { type: 'text', text: 'Let me look at the existing code first.' },
      { type: 'tool_use', id: 'call_1', name: 'read_file', input },
      { type: 'tool_use', id: 'call_2', name: 'list_files', input: {} },
    ]);
    expect(response.stopReason).toBe('tool_use');
    expect(response.attempts).toBe(1);
    expect(response.model).toBe(MODEL);
    // Every streamed event is a sign of life.
    expect(log.filter((entry) => entry === 'progress').length).toBeGreaterThanOrEqual(texts().length);
    const [recorded] = server.requests(key);
    expect(recorded?.stream).toBe(true);
  });

  it('records usage with cache writes and reads, and its cost from the price list', async () => {
    const usage = { inputTokens: 1200, outputTokens: 300, cacheWriteTokens: 5000, cacheReadTokens: 40000 };
    const { llm } = scripted(provider, { turns: [{ kind: 'reply', text: 'Done.', usage }] });
    const response = await llm.stream(request());
    expect(response.usage).toEqual(usage);
    const { price } = modelInfo(MODEL);
    const expected = (1200 * price.input + 300 * price.output + 5000 * price.cacheWrite + 40000 * price.cacheRead) / 1e6;
    expect(response.costUsd).toBeCloseTo(expected, 12);
    expect(response.costUsd).toBeGreaterThan(0);
    expect(response.stopReason).toBe('end_turn');
  });

  it('costs nothing for a model without a price, and knows a default window for it', async () => {
    const { llm } = scripted(provider, { turns: [{ kind: 'reply', text: 'Hi', model: 'local-llama-3' }] });
    const response = await llm.stream(request({ model: 'local-llama-3' }));
    expect(response.model).toBe('local-llama-3');
    expect(response.costUsd).toBe(0);
    expect(llm.modelInfo('local-llama-3').contextWindowTokens).toBeGreaterThan(0);
  });

  it('answers 429 five times then succeeds, waiting what retry-after and retry-after-ms say', async () => {
    const { key, llm } = scripted(provider, {
      turns: [
        { kind: 'error', status: 429, headers: { 'retry-after': '1' } },
        ...Array.from({ length: 4 }, () => ({ kind: 'error' as const, status: 429, headers: { 'retry-after-ms': '15' } })),
        { kind: 'reply', text: 'Finally.' },
      ],
    });
    const { handlers, retries } = recorder();
    const response = await llm.stream(request(), handlers);
    expect(response.content).toEqual([{ type: 'text', text: 'Finally.' }]);
    expect(response.attempts).toBe(6);
    expect(retries().map((r) => r.delayMs)).toEqual([1000, 15, 15, 15, 15]);
    expect(retries().map((r) => r.attempt)).toEqual([2, 3, 4, 5, 6]);
    expect(retries()[0]?.reason).toMatch(/429/);
    expect(server.requests(key)).toHaveLength(6);
  });

  it('retries overloaded and server errors, and an error event in the middle of a stream', async () => {
    const overloaded = provider === 'anthropic' ? { status: 529, errorType: 'overloaded_error' } : { status: 503 };
    const { key, llm } = scripted(provider, {
      turns: [
        { kind: 'error', ...overloaded },
        { kind: 'error', status: 500 },
        { kind: 'stream_error', afterEvents: 3, reply: { text: 'one two three four' } },
        { kind: 'reply', text: 'Recovered.' },
      ],
    });
    const { handlers, retries } = recorder();
    const response = await llm.stream(request(), handlers);
    expect(response.content).toEqual([{ type: 'text', text: 'Recovered.' }]);
    expect(response.attempts).toBe(4);
    expect(retries()).toHaveLength(3);
    expect(server.requests(key).map((r) => r.outcome)).toEqual(['error', 'error', 'stream_error', 'reply']);
  });

  it('retries a stream cut off midway as a whole, telling the caller to drop the partial text', async () => {
    const { llm } = scripted(provider, {
      turns: [
        { kind: 'disconnect', afterEvents: 5, reply: { text: 'This answer will be cut off before it ends' } },
        { kind: 'reply', text: 'The whole answer.' },
      ],
    });
    const { handlers, log, texts } = recorder();
    const response = await llm.stream(request(), handlers);
    expect(response.content).toEqual([{ type: 'text', text: 'The whole answer.' }]);
    expect(response.attempts).toBe(2);
    const retryAt = log.findIndex((entry) => typeof entry === 'object' && 'retry' in entry);
    const before = log.slice(0, retryAt).flatMap((entry) => (typeof entry === 'object' && 'text' in entry ? [entry.text] : []));
    expect(before.length).toBeGreaterThan(0);
    expect('This answer will be cut off before it ends'.startsWith(before.join(''))).toBe(true);
    expect(texts().join('')).toBe(`${before.join('')}The whole answer.`);
  });

  it('gives up on a response that stalls, before or during the stream, and tries again', async () => {
    const { key, llm } = scripted(
      provider,
      {
        turns: [
          { kind: 'hang' },
          { kind: 'hang', afterEvents: 3, reply: { text: 'and then silence forever' } },
          { kind: 'reply', text: 'Here I am.' },
        ],
      },
      { stallTimeoutMs: 300 },
    );
    const { handlers, retries } = recorder();
    const response = await llm.stream(request(), handlers);
    expect(response.content).toEqual([{ type: 'text', text: 'Here I am.' }]);
    expect(retries().map((r) => r.reason)).toEqual([expect.stringMatching(/sent nothing/), expect.stringMatching(/sent nothing/)]);
    expect(server.requests(key)).toHaveLength(3);
  });

  it('keeps signalling progress while it waits to retry', async () => {
    const { llm } = scripted(provider, {
      turns: [{ kind: 'error', status: 429, headers: { 'retry-after-ms': '1500' } }, { kind: 'reply', text: 'ok' }],
    });
    const { handlers, log } = recorder();
    await llm.stream(request(), handlers);
    const retryAt = log.findIndex((entry) => typeof entry === 'object' && 'retry' in entry);
    const firstText = log.findIndex((entry) => typeof entry === 'object' && 'text' in entry);
    expect(log.slice(retryAt, firstText)).toContain('progress');
  });

  it('stops after the last attempt with the kind of the last failure', async () => {
    const { key, llm } = scripted(provider, { turns: Array.from({ length: 3 }, () => ({ kind: 'error' as const, status: 500 })) }, { maxAttempts: 3 });
    const err = await failure(llm.stream(request()));
    expect(err.kind).toBe('server');
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(500);
    expect(server.requests(key)).toHaveLength(3);
  });

  it('maps a prompt longer than the window to context_overflow, without retrying', async () => {
    const { key, llm } = scripted(provider, { turns: [{ kind: 'reply', text: 'never sent' }], contextWindowTokens: 200 });
    const long = request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'words '.repeat(400) }] }] });
    const { handlers, retries } = recorder();
    const err = await failure(llm.stream(long, handlers));
    expect(err.kind).toBe('context_overflow');
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(400);
    expect(retries()).toEqual([]);
    expect(server.requests(key).map((r) => r.outcome)).toEqual(['context_overflow']);
    expect(server.remainingTurns(key)).toBe(1);
  });

  it('does not retry a refused key, and says which variable is missing when there is none', async () => {
    const { key, llm } = scripted(provider, { turns: [{ kind: 'error', status: 401 }] });
    const err = await failure(llm.stream(request()));
    expect(err.kind).toBe('auth');
    expect(server.requests(key)).toHaveLength(1);

    const keyless = createProvider(provider, { baseUrl: fakeBaseUrl(server, provider) });
    const missing = await failure(keyless.stream(request()));
    expect(missing.kind).toBe('auth');
    expect(missing.message).toContain(provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY');
  });

  it('rejects with kind aborted when the caller aborts in the middle of a stream', async () => {
    const { llm } = scripted(provider, {
      turns: [{ kind: 'hang', afterEvents: 4, reply: { text: 'streaming and then stuck' } }],
    }, { stallTimeoutMs: 60_000 });
    const controller = new AbortController();
    const err = await failure(llm.stream(request({ signal: controller.signal }), { onTextDelta: () => controller.abort() }));
    expect(err.kind).toBe('aborted');
    expect(err.retryable).toBe(false);
  });

  it('rejects with kind aborted when the caller aborts while it waits to retry', async () => {
    const { llm } = scripted(provider, { turns: [{ kind: 'error', status: 429, headers: { 'retry-after': '60' } }] });
    const controller = new AbortController();
    const err = await failure(llm.stream(request({ signal: controller.signal }), { onRetry: () => controller.abort() }));
    expect(err.kind).toBe('aborted');

    const already = await failure(llm.stream(request({ signal: AbortSignal.abort() })));
    expect(already.kind).toBe('aborted');
  });

  it('turns tool arguments that are not JSON into an input the loop can explain to the model', async () => {
    const { llm } = scripted(provider, {
      turns: [
        {
          kind: 'reply',
          toolCalls: [
            { id: 'bad', name: 'write_file', rawArguments: '{"path": "a.ts", "content": "unterminated' },
            { id: 'list', name: 'write_file', rawArguments: '["not", "an", "object"]' },
            { id: 'good', name: 'read_file', input: { path: 'a.ts' } },
          ],
        },
      ],
    });
    const response = await llm.stream(request());
    const [bad, list, good] = response.content as Array<{ type: 'tool_use'; input: unknown }>;
    expect(unparsedToolInput(bad?.input)).toMatch(/not valid JSON/);
    expect(bad?.input).toMatchObject({ _unparsedArguments: '{"path": "a.ts", "content": "unterminated' });
    expect(unparsedToolInput(list?.input)).toMatch(/must be a JSON object/);
    expect(good?.input).toEqual({ path: 'a.ts' });
    expect(unparsedToolInput(good?.input)).toBeUndefined();
  });

  it('serves parallel runs from their own scripts', async () => {
    const a = scripted(provider, { turns: [{ kind: 'reply', text: 'I am A', chunkDelayMs: 5 }] });
    const b = scripted(provider, { turns: [{ kind: 'reply', text: 'I am B', chunkDelayMs: 5 }] });
    const [ra, rb] = await Promise.all([a.llm.stream(request()), b.llm.stream(request())]);
    expect(ra.content).toEqual([{ type: 'text', text: 'I am A' }]);
    expect(rb.content).toEqual([{ type: 'text', text: 'I am B' }]);
  });
});
