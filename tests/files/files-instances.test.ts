/**
 * Two API instances on one database and one Redis, as a deployment runs them: If-Match writes are atomic
 * across them, only one of them watches a project's workspace (a change in the sandbox is announced once,
 * an API change once), a watcher is let go when the sandbox pauses or the project is idle, and the other
 * instance takes over when the watching one goes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesService } from '../../services/files/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, sh } from '../helpers/sandbox.js';
import { TestSocket } from '../helpers/ws.js';

let database: TestDatabase;
let apps: TestApp[];
let owner: SignedIn;
let projectId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const env = { JWT_SECRET: randomBytes(32).toString('hex') };
  apps = [await startTestApp({ database, redis: true, env }), await startTestApp({ database, redis: true, env })];
  owner = await signUp(client(0), 'instances');
  projectId = await createProject(client(0), owner);
});
afterAll(async () => {
  if (projectId) await apps[0]?.services.sandboxes.destroy(projectId).catch(() => {});
  for (const app of apps ?? []) await app.close();
  await database?.drop();
});

function client(index: number): ApiClient {
  return new ApiClient(apps[index]!.baseUrl);
}

async function put(index: number, path: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const response = await fetch(`${apps[index]!.baseUrl}/api/v1/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${owner.accessToken}`, 'content-type': 'application/octet-stream', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as { version: string; error?: { code: string } } };
}

const watchers = () => apps.filter((app) => app.services.files.watchedProjects().includes(projectId));

async function subscribe(index: number): Promise<TestSocket> {
  const socket = await TestSocket.open(`${apps[index]!.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${owner.accessToken}`);
  socket.send({ type: 'subscribe', projectId });
  await socket.next((m) => m.type === 'subscribed');
  return socket;
}

const changesOf = (socket: TestSocket, path: string) =>
  socket.messages.filter((m) => m.event?.type === 'file.changed' && m.event.data.path === path).map((m) => m.event.actor.kind);

/** A change in the sandbox after the one under test: once its event is in, a duplicate of the earlier one would be too. */
async function marker(socket: TestSocket, name: string): Promise<void> {
  await sh(client(0), owner, projectId, `echo mark > ${name}`);
  await socket.next((m) => m.event?.type === 'file.changed' && m.event.data.path === name, 10_000);
}

describe('two API instances', () => {
  it('let exactly one of concurrent If-Match writes of one version win', async () => {
    for (let trial = 0; trial < 6; trial++) {
      const base = await put(0, 'race.txt', randomBytes(2 * 1024 * 1024));
      expect(base.status).toBeLessThan(300);
      const ifMatch = { 'if-match': `"${base.body.version}"` };
      const contents = [randomBytes(2 * 1024 * 1024), randomBytes(2 * 1024 * 1024)];
      const results = await Promise.all([put(0, 'race.txt', contents[0]!, ifMatch), put(1, 'race.txt', contents[1]!, ifMatch)]);
      expect(results.map((r) => r.status).sort(), `trial ${trial}`).toEqual([200, 409]);
      const loser = results.find((r) => r.status === 409)!;
      expect(loser.body.error?.code).toBe('VERSION_MISMATCH');
      const winner = results.findIndex((r) => r.status === 200);
      const stored = await sh(client(0), owner, projectId, 'sha256sum race.txt | cut -d" " -f1');
      const { createHash } = await import('node:crypto');
      expect(stored).toBe(createHash('sha256').update(contents[winner]!).digest('hex'));
    }
  });

  it('announce a change in the sandbox once, and an API change made on either instance once', async () => {
    // Both instances serve the project's files; only one may watch it.
    for (const index of [0, 1]) expect((await client(index).get(`/api/v1/projects/${projectId}/files/tree`, { token: owner.accessToken })).status).toBe(200);
    await expect.poll(() => watchers().length, { timeout: 20_000 }).toBe(1);
    const watching = apps.indexOf(watchers()[0]!);
    const other = 1 - watching;
    const socket = await subscribe(other);
    try {
      await sh(client(0), owner, projectId, 'echo one > once.txt');
      expect((await socket.next((m) => m.event?.data?.path === 'once.txt', 10_000)).event.actor.kind).toBe('sandbox');
      expect((await put(other, 'from-api.txt', 'api')).status).toBe(201);
      expect((await socket.next((m) => m.event?.data?.path === 'from-api.txt')).event.actor.kind).toBe('user');
      await marker(socket, 'marker-1.txt');
      expect(changesOf(socket, 'once.txt')).toEqual([]); // the one expected was taken above: no duplicate
      expect(changesOf(socket, 'from-api.txt')).toEqual([]);
      expect(watchers()).toHaveLength(1);
    } finally {
      socket.close();
    }
  });

  it('let go of the watcher while the sandbox is paused, and watch again once it runs', async () => {
    await apps[0]!.services.sandboxes.pause(projectId);
    await expect.poll(() => watchers().length, { timeout: 20_000 }).toBe(0);
    await sh(client(0), owner, projectId, 'true');
    await expect.poll(() => watchers().length, { timeout: 20_000 }).toBe(1);
  });

  it('forget a project nobody used for a while', async () => {
    const { services, infra } = apps[0]!;
    const files = new FilesService({
      sandboxes: services.sandboxes,
      exec: (id, stack, request) => services.containers.run(id, stack, request),
      authorize: (principal, id, permission) => services.projects.authorize(principal, id, permission),
      bus: infra.bus,
      db: infra.db,
      watchIdleMs: 1000,
      watchCheckMs: 100,
      onError: (err) => apps[0]!.backgroundErrors.push(err),
    });
    try {
      for (const app of apps) await app.services.files.stopWatching(projectId);
      await files.tree({ kind: 'user', userId: owner.userId }, projectId, { path: '', includeIgnored: false, depth: 1 });
      expect(files.watchedProjects()).toEqual([projectId]);
      await expect.poll(() => files.watchedProjects(), { timeout: 20_000 }).toEqual([]);
    } finally {
      await files.close();
    }
  });

  it('hand the watcher over when the watching instance goes', async () => {
    for (const index of [0, 1]) expect((await client(index).get(`/api/v1/projects/${projectId}/files/tree`, { token: owner.accessToken })).status).toBe(200);
    await expect.poll(() => watchers().length, { timeout: 20_000 }).toBe(1);
    const leaving = watchers()[0]!;
    const staying = apps.find((app) => app !== leaving)!;
    await leaving.close();
    apps = [staying];
    await expect.poll(() => watchers().length, { timeout: 20_000 }).toBe(1);
    const socket = await subscribe(0);
    try {
      await sh(client(0), owner, projectId, 'echo two > after.txt');
      await socket.next((m) => m.event?.data?.path === 'after.txt', 10_000);
      await marker(socket, 'marker-2.txt');
      expect(changesOf(socket, 'after.txt')).toEqual([]);
    } finally {
      socket.close();
    }
    expect(apps[0]!.backgroundErrors).toEqual([]);
  });
});
