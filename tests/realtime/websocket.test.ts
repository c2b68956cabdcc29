import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { TestSocket } from '../helpers/ws.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
const sockets: TestSocket[] = [];

function wsUrl(app: TestApp, token: string): string {
  return `${app.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${encodeURIComponent(token)}`;
}

async function open(app: TestApp, token: string): Promise<TestSocket> {
  const socket = await TestSocket.open(wsUrl(app, token));
  sockets.push(socket);
  return socket;
}

/**
 * Instead of waiting a while for an event that must not come: the socket's user changes a project of their own,
 * and once that later event has arrived, an earlier one would have too.
 */
async function laterEventArrives(socket: TestSocket, user: SignedIn): Promise<void> {
  const own = (await api.post('/api/v1/projects', { token: user.accessToken, body: { name: 'Barrier', stack: 'node' } })).body.id;
  socket.send({ type: 'subscribe', projectId: own });
  await socket.next((m) => m.type === 'subscribed' && m.projectId === own);
  await api.patch(`/api/v1/projects/${own}`, { token: user.accessToken, body: { description: 'later' } });
  await socket.next((m) => m.type === 'event' && m.event.projectId === own && m.event.type === 'project.updated');
}

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'ws-owner');
  projectId = (await api.post('/api/v1/projects', { token: owner.accessToken, body: { name: 'Live', stack: 'node' } })).body.id;
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await t?.close();
});

describe('the WebSocket endpoint', () => {
  it('refuses an upgrade without a valid token with 401', async () => {
    await expect(TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws`)).rejects.toMatchObject({ status: 401 });
    await expect(TestSocket.open(wsUrl(t, 'not-a-token'))).rejects.toMatchObject({ status: 401 });
  });

  it("streams a project's events to a subscriber", async () => {
    const socket = await open(t, owner.accessToken);
    socket.send({ type: 'subscribe', projectId });
    await socket.next((m) => m.type === 'subscribed' && m.projectId === projectId);
    await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { description: 'changed' } });
    const message = await socket.next((m) => m.type === 'event');
    expect(message.event).toMatchObject({
      projectId,
      type: 'project.updated',
      actor: { kind: 'user', id: owner.userId },
      data: { changes: { description: 'changed' } },
    });
  });

  it("refuses to subscribe to someone else's project, as if it did not exist", async () => {
    const stranger = await signUp(api, 'ws-stranger');
    const socket = await open(t, stranger.accessToken);
    socket.send({ type: 'subscribe', projectId, id: 'req-1' });
    const error = await socket.next((m) => m.type === 'error');
    expect(error).toMatchObject({ code: 'PROJECT_NOT_FOUND', replyTo: 'req-1' });
    await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { description: 'secret' } });
    await laterEventArrives(socket, stranger);
    expect(socket.messages.filter((m) => m.type === 'event' && m.event.projectId === projectId)).toEqual([]);
  });

  it('answers malformed and unknown messages with an error and stays open', async () => {
    const socket = await open(t, owner.accessToken);
    socket.send('{not json');
    expect(await socket.next((m) => m.type === 'error')).toMatchObject({ code: 'MALFORMED_JSON' });
    socket.send({ type: 'launch-missiles' });
    expect(await socket.next((m) => m.type === 'error')).toMatchObject({ code: 'VALIDATION_FAILED' });
    socket.send({ type: 'ping' });
    await socket.next((m) => m.type === 'pong');
  });

  it('stops streaming to a member who is removed', async () => {
    const member = await signUp(api, 'ws-member');
    await api.post(`/api/v1/projects/${projectId}/members`, {
      token: owner.accessToken,
      body: { email: member.email, role: 'read' },
    });
    const socket = await open(t, member.accessToken);
    socket.send({ type: 'subscribe', projectId });
    await socket.next((m) => m.type === 'subscribed');
    await api.delete(`/api/v1/projects/${projectId}/members/${member.userId}`, { token: owner.accessToken });
    await socket.next((m) => m.type === 'unsubscribed' && m.reason === 'member.removed');
    await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { description: 'after' } });
    await laterEventArrives(socket, member);
    expect(socket.messages.filter((m) => m.type === 'event' && m.event.projectId === projectId && m.event.type === 'project.updated')).toEqual(
      [],
    );
  });

  it('carries events between two API instances through Redis', async () => {
    const first = await startTestApp({ redis: true });
    // Instances of one deployment share the database and the signing secret.
    const second = await startTestApp({
      redis: true,
      database: first.database,
      env: { JWT_SECRET: first.config.auth.jwtSecret },
    });
    try {
      const firstApi = new ApiClient(first.baseUrl);
      const user = await signUp(firstApi, 'ws-redis');
      const project = await firstApi.post('/api/v1/projects', { token: user.accessToken, body: { name: 'R', stack: 'go' } });
      // Subscribed on the second instance...
      const socket = await open(second, user.accessToken);
      socket.send({ type: 'subscribe', projectId: project.body.id });
      await socket.next((m) => m.type === 'subscribed');
      // ...changed through the first.
      await firstApi.patch(`/api/v1/projects/${project.body.id}`, { token: user.accessToken, body: { name: 'R2' } });
      const message = await socket.next((m) => m.type === 'event');
      expect(message.event).toMatchObject({ type: 'project.updated', data: { changes: { name: 'R2' } } });
    } finally {
      await second.close();
      await first.close();
    }
  });
});
