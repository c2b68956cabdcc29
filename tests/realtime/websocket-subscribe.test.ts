/** Subscribing is recorded before anything is awaited: duplicates, closes and bad ids mid-way leave nothing behind. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventHandler, Unsubscribe } from '../../lib/event-bus.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { TestSocket } from '../helpers/ws.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
const sockets: TestSocket[] = [];
/** Live bus handlers per project, counted around the real bus. */
const live = new Map<string, number>();

async function open(token: string): Promise<TestSocket> {
  const socket = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${encodeURIComponent(token)}`);
  sockets.push(socket);
  return socket;
}

async function newProject(name: string): Promise<string> {
  return (await api.post('/api/v1/projects', { token: owner.accessToken, body: { name, stack: 'node' } })).body.id;
}

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'ws-sub-owner');
  const bus = t.infra.bus;
  const subscribe = bus.subscribe.bind(bus);
  bus.subscribe = async (projectId: string, handler: EventHandler): Promise<Unsubscribe> => {
    // Counted when asked for, so a subscription that is on its way counts too.
    live.set(projectId, (live.get(projectId) ?? 0) + 1);
    const stop = await subscribe(projectId, handler);
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      live.set(projectId, live.get(projectId)! - 1);
      stop();
    };
  };
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await t?.close();
});

describe('subscribing on the WebSocket', () => {
  it('subscribes once when the same project is asked for twice at once', async () => {
    const projectId = await newProject('Twice');
    const socket = await open(owner.accessToken);
    socket.send({ type: 'subscribe', projectId });
    socket.send({ type: 'subscribe', projectId });
    await socket.next((m) => m.type === 'subscribed' && m.projectId === projectId);
    await socket.next((m) => m.type === 'subscribed' && m.projectId === projectId);
    expect(live.get(projectId)).toBe(1);

    await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { description: 'once' } });
    await socket.next((m) => m.type === 'event' && m.event.type === 'project.updated');
    // A later event on the same subscription shows that no second copy of the first is on its way.
    await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { description: 'twice' } });
    await socket.next((m) => m.type === 'event' && m.event.data.changes.description === 'twice');
    expect(socket.messages.filter((m) => m.type === 'event')).toEqual([]);

    socket.send({ type: 'unsubscribe', projectId });
    await socket.next((m) => m.type === 'unsubscribed' && m.projectId === projectId);
    expect(live.get(projectId)).toBe(0);
  });

  it('leaves no subscription behind when the socket closes while the access check is under way', async () => {
    const projectId = await newProject('Closed midway');
    // The access check of this project waits until the socket is closed.
    const projects = t.services.projects;
    const authorize = projects.authorize.bind(projects);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let checking!: () => void;
    const checkStarted = new Promise<void>((resolve) => (checking = resolve));
    let checked!: () => void;
    const checkDone = new Promise<void>((resolve) => (checked = resolve));
    projects.authorize = async (principal, id, permission) => {
      if (id !== projectId) return authorize(principal, id, permission);
      checking();
      await released;
      try {
        return await authorize(principal, id, permission);
      } finally {
        checked();
      }
    };
    // A message type of the test's own tells when the server has seen the socket close.
    let serverSawClose!: () => void;
    const closeSeen = new Promise<void>((resolve) => (serverSawClose = resolve));
    t.services.realtime.handle('test.watch-close', (connection) => connection.onClose(serverSawClose));
    try {
      const socket = await open(owner.accessToken);
      socket.send({ type: 'test.watch-close' });
      socket.send({ type: 'subscribe', projectId });
      await checkStarted;
      socket.close();
      await closeSeen;
      release();
      // The check passes after the close. What follows it takes no I/O (the in-process bus), so once a
      // macrotask has run after the check, a subscription it led to would be counted.
      await checkDone;
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(live.get(projectId) ?? 0).toBe(0);
    } finally {
      projects.authorize = authorize;
    }
  });

  it('answers a projectId that is no project id with PROJECT_NOT_FOUND', async () => {
    const socket = await open(owner.accessToken);
    for (const projectId of ['not-a-uuid', '', "'; DROP TABLE projects; --", 'x'.repeat(5000)]) {
      socket.send({ type: 'subscribe', projectId, id: 'bad' });
      expect(await socket.next((m) => m.type === 'error')).toMatchObject({ code: 'PROJECT_NOT_FOUND', replyTo: 'bad' });
    }
    expect(t.backgroundErrors).toEqual([]);
  });
});
