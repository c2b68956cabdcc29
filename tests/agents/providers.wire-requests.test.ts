/**
 * What each provider puts on the wire, read from the fake server's record of the request: prompt caching
 * (Anthropic `cache_control` breakpoints; a stable system prefix for OpenAI) and a transcript with tool calls
 * and their results in each API's own shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from '../../services/agents/fake-model/index.js';
import { resolveModel, type LlmMessage, type LlmRequest } from '../../services/agents/providers/index.js';
import { fakeProvider } from '../helpers/fake-model.js';

let server: FakeModelServer;
beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(async () => {
  await server.close();
});

const transcript: LlmMessage[] = [
  { role: 'user', content: [{ type: 'text', text: 'Rename the Order aggregate.' }] },
  {
    role: 'assistant',
    content: [
      { type: 'text', text: 'Reading the IR first.' },
      { type: 'tool_use', id: 'toolu_1', name: 'read_ir', input: {} },
      { type: 'tool_use', id: 'toolu_2', name: 'read_file', input: { path: 'ir/orders.yaml' } },
    ],
  },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'Also keep the tests green.' },
      { type: 'tool_result', toolUseId: 'toolu_1', content: 'bounded_context: orders' },
      { type: 'tool_result', toolUseId: 'toolu_2', content: 'file not found', isError: true },
    ],
  },
];

const request: LlmRequest = {
  model: 'claude-sonnet-5-5',
  system: [
    { text: 'You are Vaporform.', stable: true },
    { text: 'Goal: rename Order.', stable: false },
    { text: 'Tool rules.', stable: true },
    { text: 'IR summary: 3 aggregates.', stable: false },
  ],
  messages: transcript,
  tools: ['read_ir', 'read_file', 'write_file'].map((name) => ({
    name,
    description: `The ${name} tool`,
    inputSchema: { type: 'object', properties: {} },
  })),
  maxOutputTokens: 2048,
  temperature: 0.2,
};

async function sent(provider: 'anthropic' | 'openai', key: string, req: LlmRequest = request) {
  server.setScript(key, { turns: [{ kind: 'reply', text: 'ok' }] });
  await fakeProvider(server, provider, key).stream(req);
  const [recorded] = server.requests(key);
  return recorded!.body;
}

describe('Anthropic requests', () => {
  it('mark the last tool, the last stable system part and the end of the conversation for caching', async () => {
    const body = await sent('anthropic', 'anthropic-cache');
    expect(body.tools.map((t: { cache_control?: unknown }) => t.cache_control)).toEqual([undefined, undefined, { type: 'ephemeral' }]);
    expect(body.system).toEqual([
      { type: 'text', text: 'You are Vaporform.' },
      { type: 'text', text: 'Goal: rename Order.' },
      { type: 'text', text: 'Tool rules.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'IR summary: 3 aggregates.' },
    ]);
    const lastBlock = body.messages.at(-1).content.at(-1);
    expect(lastBlock.cache_control).toEqual({ type: 'ephemeral' });
    const breakpoints = JSON.stringify(body).match(/cache_control/g) ?? [];
    expect(breakpoints).toHaveLength(3);
    expect(body).toMatchObject({ model: 'claude-sonnet-5-5', max_tokens: 2048, temperature: 0.2, stream: true });
  });

  it('carry tool calls as tool_use blocks and their results first in the next user turn', async () => {
    const body = await sent('anthropic', 'anthropic-transcript');
    expect(body.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Reading the IR first.' },
        { type: 'tool_use', id: 'toolu_1', name: 'read_ir', input: {} },
        { type: 'tool_use', id: 'toolu_2', name: 'read_file', input: { path: 'ir/orders.yaml' } },
      ],
    });
    expect(body.messages[2].content.map((b: { type: string }) => b.type)).toEqual(['tool_result', 'tool_result', 'text']);
    expect(body.messages[2].content[0]).toEqual({ type: 'tool_result', tool_use_id: 'toolu_1', content: 'bounded_context: orders', is_error: false });
    expect(body.messages[2].content[1]).toMatchObject({ tool_use_id: 'toolu_2', is_error: true });
    expect(body.tools[0]).toMatchObject({ name: 'read_ir', description: 'The read_ir tool', input_schema: { type: 'object' } });
    const recorded = server.requests('anthropic-transcript')[0]!;
    expect(recorded.toolResults).toEqual([
      { toolUseId: 'toolu_1', content: 'bounded_context: orders', isError: false },
      { toolUseId: 'toolu_2', content: 'file not found', isError: true },
    ]);
  });

  it('send thinking blocks back exactly as the model produced them, signature included', async () => {
    server.setScript('anthropic-thinking', {
      turns: [
        { kind: 'reply', thinking: 'The IR comes first.', text: 'Reading.', toolCalls: [{ id: 'toolu_t', name: 'read_ir', input: {} }] },
        { kind: 'reply', text: 'Done.' },
      ],
    });
    const llm = fakeProvider(server, 'anthropic', 'anthropic-thinking');
    const deltas: string[] = [];
    const first = await llm.stream({ ...request, messages: transcript.slice(0, 1) }, { onTextDelta: (t) => void deltas.push(t) });
    expect(deltas.join('')).toBe('Reading.');
    const [thinking, ...rest] = first.content;
    expect(thinking).toEqual({
      type: 'thinking',
      text: 'The IR comes first.',
      block: { type: 'thinking', thinking: 'The IR comes first.', signature: expect.stringMatching(/^sig_/) },
    });
    expect(rest.map((b) => b.type)).toEqual(['text', 'tool_use']);

    await llm.stream({
      ...request,
      messages: [
        transcript[0]!,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', toolUseId: 'toolu_t', content: 'ir' }] },
      ],
    });
    const body = server.requests('anthropic-thinking')[1]!.body;
    expect(body.messages[1].content[0]).toEqual((thinking as { block: unknown }).block);
    expect(body.messages[1].content.map((b: { type: string }) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
  });

  it('leave out empty text, which the API rejects', async () => {
    const body = await sent('anthropic', 'anthropic-empty', {
      ...request,
      system: [{ text: '', stable: true }, { text: 'Only part.', stable: true }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi' }] },
        { role: 'assistant', content: [{ type: 'text', text: '' }] },
        { role: 'user', content: [{ type: 'text', text: '' }, { type: 'text', text: 'again' }] },
      ],
    });
    expect(body.system).toEqual([{ type: 'text', text: 'Only part.', cache_control: { type: 'ephemeral' } }]);
    expect(body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'user']);
    expect(JSON.stringify(body.messages)).not.toContain('"text":""');
  });
});

describe('OpenAI requests', () => {
  it('put the stable system parts first, so the cached prefix survives changes to the rest', async () => {
    const body = await sent('openai', 'openai-prefix');
    expect(body.messages[0]).toEqual({
      role: 'system',
      content: 'You are Vaporform.\n\nTool rules.\n\nGoal: rename Order.\n\nIR summary: 3 aggregates.',
    });
    expect(body).toMatchObject({
      model: 'claude-sonnet-5-5',
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 2048,
      temperature: 0.2,
    });
    expect(body.tools[2]).toEqual({
      type: 'function',
      function: { name: 'write_file', description: 'The write_file tool', parameters: { type: 'object', properties: {} } },
    });
  });

  it('carry tool calls as assistant tool_calls, answered by tool messages before the user text', async () => {
    const body = await sent('openai', 'openai-transcript');
    expect(body.messages.slice(1)).toEqual([
      { role: 'user', content: 'Rename the Order aggregate.' },
      {
        role: 'assistant',
        content: 'Reading the IR first.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'read_ir', arguments: '{}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'read_file', arguments: '{"path":"ir/orders.yaml"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'bounded_context: orders' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: file not found' },
      { role: 'user', content: 'Also keep the tests green.' },
    ]);
    const recorded = server.requests('openai-transcript')[0]!;
    expect(recorded.toolResults.map((r) => r.isError)).toEqual([false, true]);
    expect(recorded.lastUserText).toBe('Also keep the tests green.');
  });

  it('leave out thinking blocks, which only Anthropic understands', async () => {
    const thinking = { type: 'thinking' as const, text: 'hmm', block: { type: 'thinking', thinking: 'hmm', signature: 'sig' } };
    const body = await sent('openai', 'openai-thinking', {
      ...request,
      messages: [transcript[0]!, { role: 'assistant', content: [thinking, { type: 'text', text: 'Hello.' }] }, transcript[0]!],
    });
    expect(body.messages[2]).toEqual({ role: 'assistant', content: 'Hello.' });
    expect(JSON.stringify(body)).not.toContain('sig');
  });

  it('send no tools field when there are none', async () => {
    const body = await sent('openai', 'openai-no-tools', { ...request, tools: [] });
    expect(body).not.toHaveProperty('tools');
  });
});

describe('the model a run uses', () => {
  it("is the run's choice, else the deployment's, else the provider's default", () => {
    const defaults = { provider: 'anthropic' as const, model: 'claude-opus-5-5' };
    expect(resolveModel(defaults)).toEqual({ provider: 'anthropic', model: 'claude-opus-5-5' });
    expect(resolveModel(defaults, { model: 'claude-haiku-4-5' })).toEqual({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    // LLM_MODEL names a model of the default provider: a run on another provider gets that one's default.
    expect(resolveModel(defaults, { provider: 'openai' })).toEqual({ provider: 'openai', model: 'gpt-5.4' });
    expect(resolveModel({ provider: 'openai', model: undefined })).toEqual({ provider: 'openai', model: 'gpt-5.4' });
  });
});
