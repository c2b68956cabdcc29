/**
 * The fake model server's wire formats, read over raw HTTP (no SDK in between): the event names and order the
 * real APIs use, JSON split across chunks, the usage chunk and `[DONE]`, the error shapes, and the scripting
 * (per-key scripts, functions of the request, an exhausted script, the context window, broken streams).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScriptFile, startFakeModelServer, type FakeModelServer } from '../../services/agents/fake-model/index.js';

let server: FakeModelServer;
beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(async () => {
  await server.close();
});

function post(path: string, key: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
}

/** A response's JSON body, read freely by the assertions (a wire body: `any`). */
const json = (res: Response): Promise<any> => res.json();

/** The SSE frames of a body: each frame's event name (if any) and data text. */
function frames(text: string): Array<{ event: string | undefined; data: string }> {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n');
      return {
        event: lines.find((l) => l.startsWith('event: '))?.slice(7),
        data: lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'),
      };
    });
}

const anthropicRequest = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-5-5',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

const openaiRequest = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-5.4',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

const toolReply = {
  kind: 'reply' as const,
  text: 'Writing it now.',
  toolCalls: [{ id: 'call_w', name: 'write_file', input: { path: 'src/order.ts', content: 'export class Order {}\n' } }],
  usage: { inputTokens: 50, outputTokens: 20, cacheWriteTokens: 7, cacheReadTokens: 30 },
};

describe('the Anthropic wire format', () => {
  it('streams named events with a ping, text deltas and the tool input split across input_json_delta events', async () => {
    server.setScript('a-stream', { turns: [toolReply] });
    const res = await post('/v1/messages', 'a-stream', anthropicRequest({ stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = frames(await res.text());
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);

    const names = events.map((e) => e.event);
    expect(names[0]).toBe('message_start');
    expect(names.slice(1, 3)).toEqual(['content_block_start', 'ping']);
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(names.filter((n) => n === 'content_block_start')).toHaveLength(2);
    expect(names.filter((n) => n === 'content_block_stop')).toHaveLength(2);

    const start = JSON.parse(events[0]!.data).message;
    expect(start).toMatchObject({ role: 'assistant', model: 'claude-sonnet-5-5', content: [], stop_reason: null });
    expect(start.usage).toMatchObject({ input_tokens: 50, cache_creation_input_tokens: 7, cache_read_input_tokens: 30 });

    const deltas = events.filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data));
    const text = deltas.filter((d) => d.delta.type === 'text_delta');
    expect(text.length).toBeGreaterThan(1);
    expect(text.map((d) => d.delta.text).join('')).toBe('Writing it now.');
    const json = deltas.filter((d) => d.delta.type === 'input_json_delta');
    expect(json.every((d) => d.index === 1)).toBe(true);
    expect(json[0].delta.partial_json).toBe('');
    expect(json.length).toBeGreaterThan(3);
    expect(JSON.parse(json.map((d) => d.delta.partial_json).join(''))).toEqual(toolReply.toolCalls[0]!.input);

    const toolStart = JSON.parse(events.filter((e) => e.event === 'content_block_start')[1]!.data);
    expect(toolStart).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_w', name: 'write_file', input: {} } });
    const messageDelta = JSON.parse(events.at(-2)!.data);
    expect(messageDelta).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 20 },
    });
  });

  it('streams a thinking block with thinking_delta and signature_delta events', async () => {
    server.setScript('a-thinking', { turns: [{ kind: 'reply', thinking: 'Let me think about it.', text: 'Answer.' }] });
    const events = frames(await (await post('/v1/messages', 'a-thinking', anthropicRequest({ stream: true }))).text());
    const first = JSON.parse(events[1]!.data);
    expect(first).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } });
    const deltas = events.filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data));
    const thinking = deltas.filter((d) => d.index === 0);
    expect(thinking.filter((d) => d.delta.type === 'thinking_delta').map((d) => d.delta.thinking).join('')).toBe('Let me think about it.');
    expect(thinking.at(-1).delta).toEqual({ type: 'signature_delta', signature: expect.stringMatching(/^sig_/) });
    expect(deltas.filter((d) => d.index === 1).map((d) => d.delta.text).join('')).toBe('Answer.');
  });

  it('answers a request without stream as one message', async () => {
    server.setScript('a-json', { turns: [toolReply] });
    const res = await post('/v1/messages', 'a-json', anthropicRequest());
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await json(res)).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [
        { type: 'text', text: 'Writing it now.' },
        { type: 'tool_use', id: 'call_w', name: 'write_file', input: toolReply.toolCalls[0]!.input },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 50, output_tokens: 20, cache_creation_input_tokens: 7, cache_read_input_tokens: 30 },
    });
  });

  it("sends errors in the API's shape, with status and retry-after, and the error event mid-stream", async () => {
    server.setScript('a-err', {
      turns: [
        { kind: 'error', status: 429, headers: { 'retry-after': '3' } },
        { kind: 'error', status: 529 },
        { kind: 'stream_error', afterEvents: 2 },
      ],
    });
    const limited = await post('/v1/messages', 'a-err', anthropicRequest());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(await json(limited)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });
    const overloaded = await post('/v1/messages', 'a-err', anthropicRequest());
    expect(overloaded.status).toBe(529);
    expect(await json(overloaded)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    const broken = frames(await (await post('/v1/messages', 'a-err', anthropicRequest({ stream: true }))).text());
    expect(broken.map((e) => e.event)).toEqual(['message_start', 'ping', 'error']);
    expect(JSON.parse(broken[2]!.data)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });

  it('answers a prompt over the window with "prompt is too long", spending no turn', async () => {
    server.setScript('a-window', { turns: [{ kind: 'reply', text: 'ok' }], contextWindowTokens: 100 });
    const res = await post('/v1/messages', 'a-window', anthropicRequest({ messages: [{ role: 'user', content: 'x'.repeat(1000) }] }));
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/^prompt is too long: \d+ tokens > 100 maximum$/) });
    expect(server.remainingTurns('a-window')).toBe(1);
    expect((await post('/v1/messages', 'a-window', anthropicRequest())).status).toBe(200);
  });
});

describe('the OpenAI wire format', () => {
  it('streams data chunks: role, content, tool_calls fragments, finish_reason, the usage chunk, then [DONE]', async () => {
    server.setScript('o-stream', { turns: [toolReply] });
    const res = await post('/v1/chat/completions', 'o-stream', openaiRequest({ stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    const events = frames(await res.text());
    expect(events.every((e) => e.event === undefined)).toBe(true);
    expect(events.at(-1)!.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-5.4')).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: '' });

    const withChoice = chunks.filter((c) => c.choices.length > 0);
    expect(withChoice.every((c) => c.usage === null)).toBe(true);
    const content = withChoice.map((c) => c.choices[0].delta.content ?? '').join('');
    expect(content).toBe('Writing it now.');

    const fragments = withChoice.flatMap((c) => c.choices[0].delta.tool_calls ?? []);
    expect(fragments[0]).toEqual({ index: 0, id: 'call_w', type: 'function', function: { name: 'write_file', arguments: '' } });
    const rest = fragments.slice(1);
    expect(rest.length).toBeGreaterThan(2);
    for (const fragment of rest) expect(Object.keys(fragment).sort()).toEqual(['function', 'index']);
    expect(JSON.parse(rest.map((f) => f.function.arguments).join(''))).toEqual(toolReply.toolCalls[0]!.input);

    const finish = withChoice.at(-1).choices[0];
    expect(finish).toMatchObject({ delta: {}, finish_reason: 'tool_calls' });
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({
      prompt_tokens: 87,
      completion_tokens: 20,
      total_tokens: 107,
      prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 7 },
    });
  });

  it('sends no usage without include_usage, and serves /chat/completions too', async () => {
    server.setScript('o-plain', { turns: [{ kind: 'reply', text: 'Hello' }] });
    const events = frames(await (await post('/chat/completions', 'o-plain', openaiRequest({ stream: true }))).text());
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks.every((c) => !('usage' in c) && c.choices.length === 1)).toBe(true);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    expect(events.at(-1)!.data).toBe('[DONE]');
  });

  it('answers a request without stream as one chat.completion', async () => {
    server.setScript('o-json', { turns: [toolReply] });
    const body = await json(await post('/v1/chat/completions', 'o-json', openaiRequest()));
    expect(body).toMatchObject({
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'Writing it now.',
            tool_calls: [{ id: 'call_w', type: 'function', function: { name: 'write_file', arguments: JSON.stringify(toolReply.toolCalls[0]!.input) } }],
          },
        },
      ],
      usage: { prompt_tokens: 87, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 30 } },
    });
  });

  it("sends errors and context overflow in the API's shape", async () => {
    server.setScript('o-err', { turns: [{ kind: 'error', status: 429, headers: { 'retry-after-ms': '250' } }], contextWindowTokens: 100 });
    const limited = await post('/v1/chat/completions', 'o-err', openaiRequest());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after-ms')).toBe('250');
    expect(await json(limited)).toEqual({
      error: { message: expect.any(String), type: 'requests', param: null, code: 'rate_limit_exceeded' },
    });
    const long = await post('/v1/chat/completions', 'o-err', openaiRequest({ messages: [{ role: 'user', content: 'y'.repeat(1000) }] }));
    expect(long.status).toBe(400);
    expect((await json(long)).error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded', message: expect.stringContaining('maximum context length is 100 tokens') });
  });
});

describe('scripts', () => {
  it('are chosen by the x-fake-script header, else the API key, else the default script', async () => {
    server.setScript('by-header', { turns: [{ kind: 'reply', text: 'header' }] });
    server.setScript('by-key', { turns: [{ kind: 'reply', text: 'key' }] });
    const viaHeader = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-fake-script': 'by-header', 'x-api-key': 'by-key' },
      body: JSON.stringify(anthropicRequest()),
    });
    expect((await json(viaHeader)).content).toEqual([{ type: 'text', text: 'header' }]);
    const viaKey = await fetch(`${server.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'by-key' }, body: JSON.stringify(anthropicRequest()) });
    expect((await json(viaKey)).content).toEqual([{ type: 'text', text: 'key' }]);

    const unknown = await post('/v1/messages', 'nobody', anthropicRequest());
    expect(unknown.status).toBe(401);
    expect((await json(unknown)).error.message).toMatch(/no script for "nobody"/);
    expect(server.requests('nobody').map((r) => r.outcome)).toEqual(['no_script']);
  });

  it('answer with a clear error once spent, unless told what to say otherwise', async () => {
    server.setScript('short', { turns: [{ kind: 'reply', text: 'one' }] });
    await post('/v1/messages', 'short', anthropicRequest());
    const spent = await post('/v1/messages', 'short', anthropicRequest());
    expect(spent.status).toBe(400);
    expect((await json(spent)).error.message).toMatch(/script "short" has no turn left/);
    expect(server.requests('short').map((r) => [r.turn, r.outcome])).toEqual([
      [0, 'reply'],
      [undefined, 'script_exhausted'],
    ]);

    server.setScript('endless', { turns: [], otherwise: { kind: 'reply', text: 'again' } });
    for (let i = 0; i < 3; i++) expect((await json(await post('/v1/messages', 'endless', anthropicRequest()))).content[0].text).toBe('again');
  });

  it('may answer by a function of the request, seeing the tool results it carries', async () => {
    server.setScript('fn', {
      turns: [
        (req) => ({ kind: 'reply', text: `got ${req.toolResults.map((r) => `${r.toolUseId}=${r.content}${r.isError ? '!' : ''}`).join(',')}` }),
      ],
    });
    const res = await post(
      '/v1/messages',
      'fn',
      anthropicRequest({
        messages: [
          { role: 'user', content: 'go' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'read_ir', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'ir' }], is_error: true }] },
        ],
      }),
    );
    expect((await json(res)).content[0].text).toBe('got t1=ir!');
  });

  it('can cut a stream off midway or leave it hanging', async () => {
    server.setScript('broken', {
      turns: [
        { kind: 'disconnect', afterEvents: 3, reply: { text: 'a b c d e f' } },
        { kind: 'hang', afterEvents: 2, reply: { text: 'a b c d e f' } },
      ],
    });
    const cut = await post('/v1/messages', 'broken', anthropicRequest({ stream: true }));
    await expect(cut.text()).rejects.toThrow();

    const controller = new AbortController();
    const hanging = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer broken' },
      body: JSON.stringify(anthropicRequest({ stream: true })),
      signal: controller.signal,
    });
    const reader = hanging.body!.getReader();
    let received = '';
    while (frames(received).length < 2) received += new TextDecoder().decode((await reader.read()).value);
    expect(frames(received).map((e) => e.event)).toEqual(['message_start', 'content_block_start']);
    controller.abort();
    await expect(reader.read()).rejects.toThrow();
  });

  it('load from a file holding one script or several', () => {
    expect(parseScriptFile('{"turns": [{"kind": "reply", "text": "hi"}]}')).toEqual({ default: { turns: [{ kind: 'reply', text: 'hi' }] } });
    const several = parseScriptFile('{"scripts": {"a": {"turns": []}, "b": {"turns": [], "otherwise": {"kind": "hang"}}}}');
    expect(Object.keys(several)).toEqual(['a', 'b']);
    expect(() => parseScriptFile('{"turns": [{"text": "no kind"}]}')).toThrow(/turn 0: a turn needs "kind"/);
    expect(() => parseScriptFile('{"scripts": {"a": {}}}')).toThrow(/script "a": a script needs "turns"/);
  });
});
