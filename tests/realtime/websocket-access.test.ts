/**
 * An open socket keeps no access its credential lost: a revoked API key, a signed-out session, a deleted
 * account close it; a project no longer readable is unsubscribed, even when no event says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { TestSocket } from '../helpers/ws.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
const sockets: TestSocket[] = [];

// The re-check runs every second here; the tests wait for its outcome, never for a duration.
const WAIT_MS = 15_000;

async function open(token: string): Promise<TestSocket> {
  const socket = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${encodeURIComponent(token)}`);
  sockets.push(socket);
  return socket;
}

function closed(socket: TestSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the socket stayed open; got ${JSON.stringify(socket.messages)}`)), WAIT_MS);
    socket.socket.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

async function subscribed(token: string, project = projectId): Promise<TestSocket> {
  const socket = await open(token);
  socket.send({ type: 'subscribe', projectId: project });
  await socket.next((m) => m.type === 'subscribed' && m.projectId === project);
  return socket;
}

beforeAll(async () => {
  t = await startTestApp({ env: { REALTIME_RECHECK_SECONDS: '1' } });
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'ws-access-owner');
  projectId = (await api.post('/api/v1/projects', { token: owner.accessToken, body: { name: 'Guarded', stack: 'node' } })).body.id;
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await t?.close();
});

describe('access on an open WebSocket', () => {
  it('closes the socket of an API key once it is revoked', async () => {
    const created = await api.post('/api/v1/auth/api-keys', { token: owner.accessToken, body: { name: 'ws', permissions: ['read'] } });
    expect(created.status, created.text).toBe(201);
    const socket = await subscribed(created.body.key);
    const ended = closed(socket);
    expect((await api.delete(`/api/v1/auth/api-keys/${created.body.apiKey.id}`, { token: owner.accessToken })).status).toBe(204);
    expect(await ended).toEqual({ code: 1008, reason: 'API_KEY_INVALID' });
    expect(socket.messages).toContainEqual(expect.objectContaining({ type: 'error', code: 'API_KEY_INVALID' }));
  });

  it('closes the socket of a session once it signs out', async () => {
    const user = await signUp(api, 'ws-logout');
    const own = (await api.post('/api/v1/projects', { token: user.accessToken, body: { name: 'Mine', stack: 'node' } })).body.id;
    const socket = await subscribed(user.accessToken, own);
    const ended = closed(socket);
    expect((await api.post('/api/v1/auth/logout', { body: { refreshToken: user.refreshToken } })).status).toBe(204);
    expect(await ended).toEqual({ code: 1008, reason: 'UNAUTHENTICATED' });
    // The access token still verifies, but opens no new socket: a client reconnecting gets a plain 401.
    await expect(open(user.accessToken)).rejects.toMatchObject({ status: 401 });
  });

  it('opens no socket for a revoked API key', async () => {
    const created = await api.post('/api/v1/auth/api-keys', { token: owner.accessToken, body: { name: 'gone', permissions: ['read'] } });
    await api.delete(`/api/v1/auth/api-keys/${created.body.apiKey.id}`, { token: owner.accessToken });
    await expect(open(created.body.key)).rejects.toMatchObject({ status: 401 });
  });

  it('keeps the socket of a session that is still signed in', async () => {
    const user = await signUp(api, 'ws-stays');
    const own = (await api.post('/api/v1/projects', { token: user.accessToken, body: { name: 'Kept', stack: 'node' } })).body.id;
    const socket = await subscribed(user.accessToken, own);
    // Another session of the same person signs out; this one is untouched.
    const other = await api.post('/api/v1/auth/login', { body: { email: user.email, password: 'correct horse battery' } });
    expect((await api.post('/api/v1/auth/logout', { body: { refreshToken: other.body.refreshToken } })).status).toBe(204);
    // Events keep coming after several re-checks.
    for (let i = 0; i < 3; i++) {
      await api.patch(`/api/v1/projects/${own}`, { token: user.accessToken, body: { description: `still ${i}` } });
      await socket.next((m) => m.type === 'event' && m.event.data?.changes?.description === `still ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
  });

  it('closes the socket of a deleted account', async () => {
    const user = await signUp(api, 'ws-deleted');
    const own = (await api.post('/api/v1/projects', { token: user.accessToken, body: { name: 'Gone', stack: 'node' } })).body.id;
    const socket = await subscribed(user.accessToken, own);
    const ended = closed(socket);
    // No account deletion route yet: the row goes as an administrator would remove it.
    await t.database.db.query('DELETE FROM project_members WHERE user_id = $1', [user.userId]);
    await t.database.db.query('DELETE FROM users WHERE id = $1', [user.userId]);
    expect(await ended).toEqual({ code: 1008, reason: 'UNAUTHENTICATED' });
  });

  it('unsubscribes a member whose access ended without an event saying so', async () => {
    const member = await signUp(api, 'ws-quiet-member');
    await api.post(`/api/v1/projects/${projectId}/members`, { token: owner.accessToken, body: { email: member.email, role: 'read' } });
    const socket = await subscribed(member.accessToken);
    await t.database.db.query('DELETE FROM project_members WHERE project_id = $1 AND user_id = $2', [projectId, member.userId]);
    await socket.next((m) => m.type === 'unsubscribed' && m.projectId === projectId && m.reason === 'PROJECT_NOT_FOUND', WAIT_MS);
    expect(socket.socket.readyState).toBe(socket.socket.OPEN);
  });
});
