/**
 * The project event log behind the WebSocket: every event is numbered per project, a new subscriber sees the
 * recent past first (`history`), and a client back from a dropped connection gets exactly what it missed
 * (`after`), nothing lost or doubled, also while two API instances publish at once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../lib/event-bus.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { TestSocket } from '../helpers/ws.js';

let database: TestDatabase;
let apps: TestApp[];
let owner: SignedIn;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const env = { JWT_SECRET: randomBytes(32).toString('hex') };
  apps = [await startTestApp({ database, redis: true, env }), await startTestApp({ database, redis: true, env })];
  owner = await signUp(client(0), 'replay');
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  for (const app of apps ?? []) await app.close();
  await database?.drop();
});

function client(index: number): ApiClient {
  return new ApiClient(apps[index]!.baseUrl);
}

async function open(index: number): Promise<TestSocket> {
  const socket = await TestSocket.open(`${apps[index]!.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${owner.accessToken}`);
  sockets.push(socket);
  return socket;
}

async function newProject(): Promise<string> {
  return (await client(0).post('/api/v1/projects', { token: owner.accessToken, body: { name: 'Replayed', stack: 'node' } })).body.id;
}

async function describeAs(index: number, projectId: string, description: string): Promise<void> {
  const response = await client(index).patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { description } });
  expect(response.status).toBe(200);
}

/** The events the socket has received so far for the project (taken out of its queue). */
function eventsOf(socket: TestSocket, projectId: string): any[] {
  const events: any[] = [];
  for (let i = 0; i < socket.messages.length; ) {
    const message = socket.messages[i];
    if (message.type === 'event' && message.event.projectId === projectId) events.push(...socket.messages.splice(i, 1));
    else i++;
  }
  return events;
}

/** Waits until the event numbered `seq` is in (leaving it, and the order of everything, in the queue). */
async function waitForSeq(socket: TestSocket, projectId: string, seq: number): Promise<void> {
  await expect
    .poll(() => socket.messages.some((m) => m.type === 'event' && m.event.projectId === projectId && m.event.seq === seq), { timeout: 10_000 })
    .toBe(true);
}

describe('the project event log', () => {
  it('numbers events per project and shows a new subscriber the latest ones first, marked as history', async () => {
    const projectId = await newProject(); // 1: project.created
    for (let i = 1; i <= 4; i++) await describeAs(i % 2, projectId, `v${i}`); // 2..5

    const socket = await open(1);
    socket.send({ type: 'subscribe', projectId, history: 3 });
    const subscribed = await socket.next((m) => m.type === 'subscribed' && m.projectId === projectId);
    expect(subscribed.seq).toBe(2);
    await waitForSeq(socket, projectId, 5);
    const past = eventsOf(socket, projectId);
    expect(past.map((m) => [m.event.seq, m.event.type, m.history])).toEqual([
      [3, 'project.updated', true],
      [4, 'project.updated', true],
      [5, 'project.updated', true],
    ]);
    expect(past.map((m) => m.event.data.changes.description)).toEqual(['v2', 'v3', 'v4']);
    // The first message of the subscription is `subscribed`: nothing of the project came before it.
    expect(socket.messages.findIndex((m) => m.type === 'event')).toBe(-1);

    await describeAs(0, projectId, 'live');
    const live = await socket.next((m) => m.type === 'event' && m.event.projectId === projectId);
    expect(live).toMatchObject({ event: { seq: 6, type: 'project.updated', actor: { kind: 'user', id: owner.userId } } });
    expect(live.history).toBeUndefined();
  });

  it('resumes after the last event seen: what was missed arrives once, in order, then live ones', async () => {
    const projectId = await newProject();
    const first = await open(0);
    first.send({ type: 'subscribe', projectId });
    expect((await first.next((m) => m.type === 'subscribed')).seq).toBe(1);
    await describeAs(1, projectId, 'seen');
    const seen = await first.next((m) => m.type === 'event' && m.event.projectId === projectId);
    expect(seen.event.seq).toBe(2);
    first.close();

    for (let i = 1; i <= 3; i++) await describeAs(i % 2, projectId, `missed ${i}`);
    const again = await open(1);
    again.send({ type: 'subscribe', projectId, after: 2 });
    const subscribed = await again.next((m) => m.type === 'subscribed');
    expect(subscribed).toMatchObject({ seq: 2 });
    expect(subscribed.gap).toBeUndefined();
    await waitForSeq(again, projectId, 5);
    const missed = eventsOf(again, projectId);
    expect(missed.map((m) => [m.event.seq, m.event.data.changes.description, m.history])).toEqual([
      [3, 'missed 1', undefined],
      [4, 'missed 2', undefined],
      [5, 'missed 3', undefined],
    ]);
  });

  it('joins the replay and live events without a gap or a double while both instances publish', async () => {
    const projectId = await newProject();
    const writes = Array.from({ length: 30 }, (_, i) => describeAs(i % 2, projectId, `burst ${i}`));
    // Subscribe in the middle of the burst, resuming after the project's creation.
    await new Promise((resolve) => setTimeout(resolve, 15));
    const socket = await open(0);
    socket.send({ type: 'subscribe', projectId, after: 1 });
    await Promise.all(writes);
    await waitForSeq(socket, projectId, 31);
    const seqs = eventsOf(socket, projectId).map((m) => m.event.seq as number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));
    // Events of one instance arrive in their order; across instances a later number may overtake an earlier one,
    // which the client's contiguous mark (ide/src/realtime.ts) allows for.
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('says when the client is further behind than the log reaches', async () => {
    const projectId = await newProject();
    await describeAs(0, projectId, 'one');
    const socket = await open(0);
    // A seq the log never gave (a database restored from an older backup): start over from the latest.
    socket.send({ type: 'subscribe', projectId, after: 1_000_000 });
    expect(await socket.next((m) => m.type === 'subscribed')).toMatchObject({ seq: 2, gap: true });

    await apps[0]!.infra.db.query('DELETE FROM project_events WHERE project_id = $1 AND seq = 1', [projectId]);
    const behind = await open(1);
    behind.send({ type: 'subscribe', projectId, after: 0 });
    expect(await behind.next((m) => m.type === 'subscribed')).toMatchObject({ seq: 1, gap: true });
    await waitForSeq(behind, projectId, 2);
  });

  it('refuses a bad "after" or "history" with a clear error', async () => {
    const projectId = await newProject();
    const socket = await open(0);
    for (const bad of [{ after: -1 }, { after: 'x' }, { after: 1.5 }, { history: 201 }, { history: -1 }, { history: '5' }]) {
      socket.send({ type: 'subscribe', id: 'bad', projectId, ...bad });
      const error = await socket.next((m) => m.type === 'error' && m.replyTo === 'bad');
      expect(error.code).toBe('VALIDATION_FAILED');
    }
    socket.send({ type: 'subscribe', projectId, history: 200 });
    await socket.next((m) => m.type === 'subscribed' && m.projectId === projectId);
  });

  it("keeps a file's new text out of the log: it travels live only", async () => {
    const projectId = await newProject();
    const socket = await open(0);
    socket.send({ type: 'subscribe', projectId });
    await socket.next((m) => m.type === 'subscribed');
    await apps[0]!.services.bus.publish(makeEvent(projectId, 'file.changed', { path: 'a.txt', kind: 'modified', content: 'new text' }));
    const live = await socket.next((m) => m.type === 'event' && m.event.type === 'file.changed');
    expect(live.event.data).toEqual({ path: 'a.txt', kind: 'modified', content: 'new text' });
    const [logged] = await apps[1]!.services.events.after(projectId, live.event.seq - 1, 10);
    expect(logged).toMatchObject({ seq: live.event.seq, type: 'file.changed', data: { path: 'a.txt', kind: 'modified' } });
    expect(logged!.data).not.toHaveProperty('content');
  });
});
