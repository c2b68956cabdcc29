/**
 * The runs API around a real workflow: approval (approve and deny), follow-up messages, the WebSocket
 * subscription that resumes after a seq, idempotent starts, the signed completion webhook, and the bad inputs an
 * attacker would try.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../services/agents/fake-model/index.js';
import { agentSuite } from '../helpers/agent.js';
import { signUp } from '../helpers/http.js';
import { sh } from '../helpers/sandbox.js';
import { TestSocket } from '../helpers/ws.js';

const suite = agentSuite('runs-api');
const runsPath = () => `/api/v1/projects/${suite.projectId}/runs`;
const post = (path: string, body: unknown = {}) => suite.api.post(path, { token: suite.owner.accessToken, body });

describe('approval', () => {
  it('holds a destructive command until a person approves it, then runs it', async () => {
    await sh(suite.api, suite.owner, suite.projectId, 'mkdir -p doomed spare && touch doomed/a');
    suite.script({
      turns: [
        { kind: 'reply', text: 'Cleaning up.', toolCalls: [{ name: 'run_command', input: { command: 'rm -rf doomed spare' } }] },
        { kind: 'reply', text: 'Removed.' },
      ],
    });
    const run = await suite.startRun({ message: 'remove the doomed folder' });
    const waiting = await suite.waitFor(run.id, ['waiting_approval', 'completed', 'failed']);
    expect(waiting.status).toBe('waiting_approval');
    expect(waiting.pendingApproval).toMatchObject({ name: 'run_command', input: { command: 'rm -rf doomed spare' }, reason: expect.any(String) });
    expect(await sh(suite.api, suite.owner, suite.projectId, 'test -d doomed && echo still')).toBe('still');

    const approved = await post(`${runsPath()}/${run.id}/approve`);
    expect(approved.status).toBe(200);
    expect((await suite.waitFor(run.id, ['completed', 'failed'])).status).toBe('completed');
    expect(await sh(suite.api, suite.owner, suite.projectId, 'test -d doomed && echo still || echo gone')).toBe('gone');
    const types = (await suite.events(run.id)).map((event) => event.type);
    expect(types).toContain('tool.approval_requested');
    expect(types).toContain('tool.approval_resolved');
  });

  it('tells the model why a person denied a call, and never runs it', async () => {
    await sh(suite.api, suite.owner, suite.projectId, 'mkdir -p precious extra && touch precious/a');
    let answered: RecordedRequest | undefined;
    suite.script({
      turns: [
        { kind: 'reply', toolCalls: [{ name: 'run_command', input: { command: 'rm -rf precious extra' } }] },
        (request) => {
          answered = request;
          return { kind: 'reply', text: 'Understood, leaving it.' };
        },
      ],
    });
    const run = await suite.startRun({ message: 'remove precious' });
    expect((await suite.waitFor(run.id, ['waiting_approval'])).status).toBe('waiting_approval');
    expect((await post(`${runsPath()}/${run.id}/deny`, { reason: 'keep that folder' })).status).toBe(200);
    expect((await suite.waitFor(run.id, ['completed', 'failed'])).status).toBe('completed');
    expect(answered!.toolResults).toEqual([expect.objectContaining({ isError: true, content: expect.stringContaining('keep that folder') })]);
    expect(await sh(suite.api, suite.owner, suite.projectId, 'test -d precious && echo still')).toBe('still');
    // Nothing waits any more: a second approve is a conflict, not a 500.
    const late = await post(`${runsPath()}/${run.id}/approve`);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('CONFLICT');
  });
});

describe('conversation', () => {
  it('takes a follow-up message after completing and goes on with the whole transcript', async () => {
    let second: RecordedRequest | undefined;
    suite.script({
      turns: [
        { kind: 'reply', text: 'Hello! What shall we build?' },
        (request) => {
          second = request;
          return { kind: 'reply', text: 'A todo app it is.' };
        },
      ],
    });
    const run = await suite.startRun({ message: 'hi' });
    expect((await suite.waitFor(run.id, ['completed'])).steps).toBe(1);
    const sent = await post(`${runsPath()}/${run.id}/messages`, { message: 'a todo app please' });
    expect(sent.status).toBe(202);
    await suite.waitFor(run.id, ['completed'], 30_000);
    await expect.poll(async () => (await suite.events(run.id)).filter((event) => event.type === 'run.status').length).toBe(5);
    expect(second!.lastUserText).toBe('a todo app please');
    expect(JSON.stringify(second!.body.messages)).toContain('What shall we build?');
    const statuses = (await suite.events(run.id)).filter((event) => event.type === 'run.status').map((event) => event.data.status);
    expect(statuses).toEqual(['queued', 'running', 'completed', 'running', 'completed']);
  });

  it('streams events over the WebSocket from any seq, each once, and resumes after a reconnect', async () => {
    suite.script({ turns: [{ kind: 'reply', text: 'one two three four five six seven eight', chunkDelayMs: 30 }] });
    const run = await suite.startRun({ message: 'count' });
    const url = `${suite.app.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${suite.owner.accessToken}`;
    const first = await TestSocket.open(url);
    first.send({ type: 'run.subscribe', projectId: suite.projectId, runId: run.id, after: 0 });
    await first.next((message) => message.type === 'run.subscribed');
    // Some events, then the connection drops.
    await first.next((message) => message.type === 'run.event' && message.event.type === 'text.delta', 10_000);
    const seen = first.messages.filter((message) => message.type === 'run.event').map((message) => message.event);
    first.close();
    const last = seen.at(-1)?.seq ?? 0;

    await suite.waitFor(run.id, ['completed']);
    const second = await TestSocket.open(url);
    second.send({ type: 'run.subscribe', projectId: suite.projectId, runId: run.id, after: last });
    await second.next((message) => message.type === 'run.subscribed');
    const all = await suite.events(run.id);
    const final = await second.next((message) => message.type === 'run.event' && message.event.seq === all.at(-1)!.seq);
    const resumed = [...second.messages.filter((message) => message.type === 'run.event').map((message) => message.event), final.event];
    second.close();
    const joined = [...seen.filter((event) => event.seq <= last), ...resumed];
    expect(joined.map((event) => event.seq)).toEqual(all.map((event) => event.seq));
    expect(joined).toEqual(all);
  });
});

describe('starting runs', () => {
  it('returns the same run for a retried request with the same Idempotency-Key', async () => {
    suite.script({ turns: [{ kind: 'reply', text: 'ok' }], otherwise: { kind: 'reply', text: 'ok' } });
    const headers = { 'idempotency-key': 'start-once-1' };
    const first = await suite.api.post(runsPath(), { token: suite.owner.accessToken, body: { message: 'once' }, headers });
    const again = await suite.api.post(runsPath(), { token: suite.owner.accessToken, body: { message: 'once' }, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    await suite.waitFor(first.body.id, ['completed']);
    const list = await suite.api.get(runsPath(), { token: suite.owner.accessToken });
    expect(list.body.runs.filter((run: { goal: string }) => run.goal === 'once')).toHaveLength(1);
  });

  it('POSTs the finished run to its webhook, signed with HMAC-SHA256 under the secret shown once', async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const receiver = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ headers: request.headers, body });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      suite.script({ turns: [{ kind: 'reply', text: 'done' }] });
      const port = (receiver.address() as AddressInfo).port;
      const run = await suite.startRun({ message: 'webhook me', webhookUrl: `http://127.0.0.1:${port}/hook` });
      expect(run.webhookSecret).toMatch(/^[0-9a-f]{64}$/);
      await suite.waitFor(run.id, ['completed']);
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(1);
      const [delivery] = received;
      const expected = createHmac('sha256', run.webhookSecret).update(`${delivery!.headers['x-vaporform-timestamp']}.${delivery!.body}`).digest('hex');
      expect(delivery!.headers['x-vaporform-signature']).toBe(`sha256=${expected}`);
      expect(JSON.parse(delivery!.body)).toMatchObject({ event: 'run.status', run: { id: run.id, status: 'completed' } });
      const shown = await suite.api.get(`${runsPath()}/${run.id}`, { token: suite.owner.accessToken });
      expect(shown.body.webhookSecret).toBeUndefined();
    } finally {
      receiver.close();
    }
  });
});

describe('bad input', () => {
  it('answers with codes, never a 500, and shows nothing of another user\'s runs', async () => {
    suite.script({ turns: [{ kind: 'reply', text: 'ok' }] });
    const run = await suite.startRun({ message: 'mine' });
    const stranger = await signUp(suite.api, 'runs-stranger');
    const theirs = await suite.api.get(`${runsPath()}/${run.id}`, { token: stranger.accessToken });
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('PROJECT_NOT_FOUND');
    const start = await suite.api.post(runsPath(), { token: stranger.accessToken, body: { message: 'let me in' } });
    expect(start.status).toBe(404);

    const unknown = await suite.api.get(`${runsPath()}/00000000-0000-4000-8000-000000000000`, { token: suite.owner.accessToken });
    expect(unknown.body.error.code).toBe('RUN_NOT_FOUND');
    const malformed = await suite.api.get(`${runsPath()}/not-a-uuid/events`, { token: suite.owner.accessToken });
    expect(malformed.status).toBe(400);
    const huge = await post(runsPath(), { message: 'x'.repeat(40_000) });
    expect(huge.status).toBe(400);
    const empty = await post(runsPath(), { message: '   ' });
    expect(empty.body.error.code).toBe('VALIDATION_FAILED');
    const badProvider = await post(runsPath(), { message: 'hi', provider: 'skynet' });
    expect(badProvider.status).toBe(400);
    const badHook = await post(runsPath(), { message: 'hi', webhookUrl: 'file:///etc/passwd' });
    expect(badHook.body.error.code).toBe('VALIDATION_FAILED');
    const badStep = await post(`${runsPath()}/${run.id}/revert`, { step: -1 });
    expect(badStep.status).toBe(400);
    const extra = await post(`${runsPath()}/${run.id}/cancel`, { evil: true });
    expect(extra.status).toBe(400);
    const unauthenticated = await suite.api.get(runsPath());
    expect(unauthenticated.status).toBe(401);

    const socket = await TestSocket.open(`${suite.app.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${stranger.accessToken}`);
    socket.send({ type: 'run.subscribe', id: 's1', projectId: suite.projectId, runId: run.id, after: 0 });
    expect(await socket.next((message) => message.type === 'error')).toMatchObject({ code: 'PROJECT_NOT_FOUND', replyTo: 's1' });
    socket.send({ type: 'run.subscribe', id: 's2', projectId: suite.projectId, runId: run.id, after: -5 });
    expect(await socket.next((message) => message.type === 'error')).toMatchObject({ code: 'VALIDATION_FAILED', replyTo: 's2' });
    socket.close();
    await suite.waitFor(run.id, ['completed']);
  });
});
