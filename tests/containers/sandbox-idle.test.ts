/**
 * The idle sweep pauses a sandbox nobody uses, and never one that runs something for someone: a long command
 * through the agent (HTTP exec) or a streaming exec (docker exec). Such use counts as use: once it ends, the
 * sandbox is paused like any other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { eventually } from '../helpers/poll.js';
import { createProject, sh } from '../helpers/sandbox.js';
import { TestSocket } from '../helpers/ws.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
const projects: string[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  t = await startTestApp({ env: { SANDBOX_PAUSE_AFTER_SECONDS: '1' } });
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'sbx-idle');
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  for (const id of projects) await t.services.sandboxes.destroy(id).catch(() => {});
  await t?.close();
});

async function runningSandbox(): Promise<string> {
  const id = await createProject(api, owner);
  projects.push(id);
  expect(await sh(api, owner, id, 'echo up')).toBe('up');
  return id;
}

/** Makes the sandbox look idle (its last request 10 minutes ago: past the pause, not the stop), and sweeps. */
async function sweepLongAfterLastRequest(projectId: string): Promise<string[]> {
  await t.database.db.query("UPDATE sandboxes SET last_used_at = now() - interval '10 minutes' WHERE project_id = $1", [projectId]);
  return (await t.services.sandboxes.sweepIdle()).paused;
}

async function state(projectId: string): Promise<string> {
  return (await api.get(`/api/v1/projects/${projectId}/sandbox`, { token: owner.accessToken })).body.state;
}

describe('the idle sweep', () => {
  it('leaves a sandbox running while a command runs through the agent, and pauses it after', async () => {
    const id = await runningSandbox();
    const long = api.post(`/api/v1/projects/${id}/exec`, { token: owner.accessToken, body: { command: 'sleep 4; echo done', timeoutMs: 60_000 } });
    await eventually(async () => (await t.services.sandboxes.liveWork(id))?.commands === 1, 'the agent counts the command');

    expect(await sweepLongAfterLastRequest(id)).not.toContain(id);
    expect(await state(id)).toBe('running');

    const finished = await long;
    expect(finished.status, finished.text).toBe(200);
    expect(finished.body).toMatchObject({ exitCode: 0, stdout: 'done\n', timedOut: false });
    expect(await t.services.sandboxes.liveWork(id)).toEqual({ commands: 0, terminals: 0 });
    expect(await sweepLongAfterLastRequest(id)).toContain(id);
    expect(await state(id)).toBe('paused');
  });

  it('leaves a sandbox running while a streaming exec runs, and pauses it after', async () => {
    const id = await runningSandbox();
    const socket = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${owner.accessToken}`);
    sockets.push(socket);
    socket.send({ type: 'exec.start', id: 'long', projectId: id, command: 'sleep 600' });
    await socket.next((m) => m.type === 'exec.started' && m.id === 'long');
    await eventually(async () => (await t.services.sandboxes.liveWork(id))?.commands === 1, 'the docker exec is seen');

    expect(await sweepLongAfterLastRequest(id)).not.toContain(id);
    expect(await state(id)).toBe('running');

    socket.send({ type: 'exec.kill', id: 'long' });
    await socket.next((m) => m.type === 'exec.exit' && m.id === 'long', 20_000);
    await eventually(async () => (await t.services.sandboxes.liveWork(id))?.commands === 0, 'the docker exec has ended');
    expect(await sweepLongAfterLastRequest(id)).toContain(id);
    expect(await state(id)).toBe('paused');
  });

  it('pauses an idle sandbox', async () => {
    const id = await runningSandbox();
    expect(await t.services.sandboxes.liveWork(id)).toEqual({ commands: 0, terminals: 0 });
    expect(await sweepLongAfterLastRequest(id)).toContain(id);
    expect(await state(id)).toBe('paused');
  });

  it('resumes a sandbox paused under a command in flight (a pause another instance slipped in), and the command finishes', async () => {
    const id = await runningSandbox();
    const running = api.post(`/api/v1/projects/${id}/exec`, { token: owner.accessToken, body: { command: 'sleep 1; echo finished', timeoutMs: 60_000 } });
    await eventually(async () => (await t.services.sandboxes.liveWork(id))?.commands === 1, 'the agent counts the command');
    // Paused behind the API's back, as a sweep that saw nothing running a moment earlier would.
    await t.infra.docker.getContainer(`vf-sandbox-${id}`).pause();
    const finished = await running;
    expect(finished.status, finished.text).toBe(200);
    expect(finished.body).toMatchObject({ exitCode: 0, stdout: 'finished\n' });
    expect((await t.infra.docker.getContainer(`vf-sandbox-${id}`).inspect()).State.Paused).toBe(false);
  });
});
