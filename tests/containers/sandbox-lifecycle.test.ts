import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxImageName } from '../../sandbox-images/names.js';
import { sandboxCreateOptions, sandboxNames } from '../../services/containers/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, exec, sh } from '../helpers/sandbox.js';
import { eventually } from '../helpers/poll.js';
import { s3Env } from '../helpers/s3.js';
import { TestSocket } from '../helpers/ws.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
const projects: string[] = [];

beforeAll(async () => {
  t = await startTestApp({ env: { SANDBOX_PAUSE_AFTER_SECONDS: '1', SANDBOX_STOP_AFTER_SECONDS: '2' } });
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'sbx');
});
afterAll(async () => {
  for (const id of projects) await t.services.sandboxes.destroy(id).catch(() => {});
  await t?.close();
});

async function project(): Promise<string> {
  const id = await createProject(api, owner);
  projects.push(id);
  return id;
}

async function state(projectId: string): Promise<string> {
  const response = await api.get(`/api/v1/projects/${projectId}/sandbox`, { token: owner.accessToken });
  expect(response.status).toBe(200);
  return response.body.state;
}

describe('sandbox lifecycle', () => {
  it('creates the sandbox on first use, with the default limits', async () => {
    const id = await project();
    expect(await state(id)).toBe('absent');
    const started = await api.post(`/api/v1/projects/${id}/sandbox/start`, { token: owner.accessToken });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({
      state: 'running',
      image: sandboxImageName('node', t.config.images.tag),
      limits: { memoryBytes: 1024 * 1024 * 1024, cpus: 1, pids: 256 },
    });
    const stats = await api.get(`/api/v1/projects/${id}/sandbox/stats`, { token: owner.accessToken });
    expect(stats.status).toBe(200);
    expect(stats.body.memoryLimitBytes).toBe(1024 * 1024 * 1024);
    expect(stats.body.pids).toBeGreaterThan(0);
  });

  it('stops, and resumes transparently on the next exec', async () => {
    const id = await project();
    await sh(api, owner, id, 'echo hello > note.txt');
    const stopped = await api.post(`/api/v1/projects/${id}/sandbox/stop`, { token: owner.accessToken });
    expect(stopped.body.state).toBe('stopped');
    expect(await sh(api, owner, id, 'cat note.txt')).toBe('hello');
    expect(await state(id)).toBe('running');
  });

  it('pauses when idle, then stops; any use resumes it', async () => {
    const id = await project();
    await sh(api, owner, id, 'true');
    const sweepDid = (what: 'paused' | 'stopped') => async () => (await t.services.sandboxes.sweepIdle())[what].includes(id);
    await eventually(sweepDid('paused'), 'the idle sandbox is paused');
    expect(await state(id)).toBe('paused');
    expect(await sh(api, owner, id, 'echo back')).toBe('back');
    expect(await state(id)).toBe('running');
    // Idle again: paused after a second, stopped after two.
    await eventually(sweepDid('stopped'), 'the idle sandbox is stopped');
    expect(await state(id)).toBe('stopped');
    expect(await sh(api, owner, id, 'echo again')).toBe('again');
  });

  it('keeps the workspace when the container is removed and re-created', async () => {
    const id = await project();
    await sh(api, owner, id, 'mkdir -p src && echo kept > src/file.txt');
    const removed = await api.delete(`/api/v1/projects/${id}/sandbox`, { token: owner.accessToken });
    expect(removed.status).toBe(204);
    expect(await state(id)).toBe('absent');
    expect(await sh(api, owner, id, 'cat src/file.txt')).toBe('kept');
  });

  it('makes a container of an older spec anew at its next start: no token in its environment any more', async () => {
    const id = await project();
    await sh(api, owner, id, 'echo kept > kept.txt');
    const docker = t.infra.docker;
    const names = sandboxNames(id);
    const current = await docker.getContainer(names.container).inspect();
    await docker.getContainer(names.container).remove({ force: true });
    // As spec 1 made it: the agent's token in the environment, everything as uid 1000, no agent volume.
    const spec = sandboxCreateOptions({ projectId: id, image: current.Config.Image, limits: t.config.sandbox });
    const { 'vaporform.sandbox-spec': _spec, ...labels } = current.Config.Labels;
    await docker.createContainer({
      ...spec,
      User: '1000:1000',
      Env: [...(spec.Env ?? []), `VF_AGENT_TOKEN=${t.services.sandboxes.agentToken(id)}`],
      Labels: labels,
      HostConfig: { ...spec.HostConfig, CapAdd: [], Mounts: spec.HostConfig?.Mounts?.filter((mount) => mount.Target !== '/run/vaporform') },
    });
    expect(await sh(api, owner, id, 'cat kept.txt; id -u')).toBe('kept\n1000');
    const made = await docker.getContainer(names.container).inspect();
    expect(made.Id).not.toBe(current.Id);
    expect(made.Config.Labels['vaporform.sandbox-spec']).toBe('2');
    expect(made.Config.Env.join('\n')).not.toContain('VF_AGENT_TOKEN');
  });

  it('removes sandbox, network and volumes with the project, after a snapshot of the workspace', async () => {
    await deleteKeepsSnapshot(t);
  });

  it('keeps the snapshot in S3 when object storage is S3', async () => {
    const objectsDir = path.join(os.tmpdir(), `vaporform-objects-s3-${process.pid}`);
    const withS3 = await startTestApp({ env: { ...s3Env(), OBJECTS_DIR: objectsDir } });
    try {
      await deleteKeepsSnapshot(withS3);
      // Nothing went to the local directory instead.
      expect(existsSync(objectsDir)).toBe(false);
    } finally {
      await withS3.close();
    }
  });
});

/** Deletes a project with a file in its workspace: everything of its sandbox goes, a snapshot holding the file stays. */
async function deleteKeepsSnapshot(app: TestApp): Promise<void> {
  const client = new ApiClient(app.baseUrl);
  const user = await signUp(client, 'snapshot');
  const id = await createProject(client, user);
  await sh(client, user, id, 'echo precious > data.txt');
  expect((await client.delete(`/api/v1/projects/${id}`, { token: user.accessToken })).status).toBe(204);
  const names = sandboxNames(id);
  const docker = app.infra.docker;
  await expect(docker.getContainer(names.container).inspect()).rejects.toMatchObject({ statusCode: 404 });
  await expect(docker.getNetwork(names.network).inspect()).rejects.toMatchObject({ statusCode: 404 });
  await expect(docker.getVolume(names.workspaceVolume).inspect()).rejects.toMatchObject({ statusCode: 404 });
  await expect(docker.getVolume(names.homeVolume).inspect()).rejects.toMatchObject({ statusCode: 404 });
  await expect(docker.getVolume(names.agentVolume).inspect()).rejects.toMatchObject({ statusCode: 404 });
  const keys = await app.infra.objects.list(`snapshots/${id}/`);
  expect(keys).toEqual([expect.stringMatching(new RegExp(`^snapshots/${id}/[^/]+\\.tar$`))]);
  const files = new Map<string, string>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    let content = '';
    stream.on('data', (chunk) => (content += String(chunk)));
    stream.on('end', () => {
      files.set(header.name, content);
      next();
    });
  });
  await pipeline(await app.infra.objects.get(keys[0]!), extract);
  expect(files.get('workspace/data.txt')).toBe('precious\n');
}

describe('exec', () => {
  let id: string;
  beforeAll(async () => {
    id = await project();
  });

  it('returns exit code, stdout and stderr apart, and the duration', async () => {
    const result = await exec(api, owner, id, 'echo out; echo err >&2; sleep 0.3; exit 3');
    expect(result).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    // It measures the command: no less than the time it slept.
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
  });

  it('runs an argv array without a shell', async () => {
    const result = await exec(api, owner, id, ['echo', '$HOME; rm -rf /']);
    expect(result.stdout).toBe('$HOME; rm -rf /\n');
  });

  it('passes stdin, env and cwd', async () => {
    await sh(api, owner, id, 'mkdir -p sub');
    const result = await exec(api, owner, id, 'cat; echo " $GREETING"; pwd', {
      stdin: 'from stdin',
      env: { GREETING: 'hi there' },
      cwd: 'sub',
    });
    expect(result.stdout).toBe('from stdin hi there\n/workspace/sub\n');
  });

  it('caps output and says so', async () => {
    const result = await exec(api, owner, id, 'head -c 3000000 /dev/zero | tr "\\0" a');
    expect(result.exitCode).toBe(0);
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stdout.length).toBe(1024 * 1024);
  });

  it('kills the whole process group on timeout', async () => {
    const result = await exec(api, owner, id, 'sleep 300 & sleep 301; echo never', { timeoutMs: 1000 });
    expect(result.timedOut).toBe(true);
    expect(result.stdout).not.toContain('never');
    // It ran until the timeout; that it did not wait for the sleeps, the answer arriving at all tells.
    expect(result.durationMs).toBeGreaterThanOrEqual(1000);
    const left = await sh(api, owner, id, 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "');
    expect(left).not.toContain('sleep 300');
    expect(left).not.toContain('sleep 301');
  });

  it('ends what a command left behind in its process group when it exits', async () => {
    const result = await exec(api, owner, id, 'sleep 302 & sleep 303 & echo started', { timeoutMs: 5000 });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdout: 'started\n' });
    const left = await sh(api, owner, id, 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "');
    expect(left).not.toContain('sleep 302');
    expect(left).not.toContain('sleep 303');
  });

  it('refuses a working directory outside the workspace', async () => {
    for (const cwd of ['..', '/etc', '../../root', 'a/../../tmp']) {
      const response = await api.post(`/api/v1/projects/${id}/exec`, {
        token: owner.accessToken,
        body: { command: 'pwd', cwd },
      });
      expect(response.status, cwd).toBe(403);
      expect(response.body.error.code).toBe('PATH_OUTSIDE_WORKSPACE');
    }
  });

  it('resolves the working directory like a file path: a symlink cannot lead a command out of the workspace', async () => {
    await sh(api, owner, id, 'mkdir -p real/inner && ln -sfn / out && ln -sfn /etc etc-link && ln -sfn real/inner in-link && ln -sfn /workspace/real abs-in && touch plain');
    for (const cwd of ['out', 'etc-link', 'out/tmp', 'in-link/../../out']) {
      const response = await api.post(`/api/v1/projects/${id}/exec`, { token: owner.accessToken, body: { command: 'pwd', cwd } });
      expect(response.status, `${cwd}: ${response.text}`).toBe(403);
      expect(response.body.error.code).toBe('PATH_OUTSIDE_WORKSPACE');
    }
    expect((await exec(api, owner, id, 'pwd', { cwd: 'in-link' })).stdout).toBe('/workspace/real/inner\n');
    expect((await exec(api, owner, id, 'pwd', { cwd: '/workspace/abs-in' })).stdout).toBe('/workspace/real\n');
    const missing = await api.post(`/api/v1/projects/${id}/exec`, { token: owner.accessToken, body: { command: 'pwd', cwd: 'nowhere' } });
    expect(missing.status).toBe(404);
    const file = await api.post(`/api/v1/projects/${id}/exec`, { token: owner.accessToken, body: { command: 'pwd', cwd: 'plain' } });
    expect(file.status).toBe(400);
    // The streaming form resolves it the same way.
    const socket = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${owner.accessToken}`);
    try {
      socket.send({ type: 'exec.start', id: 'cwd-out', projectId: id, command: 'pwd', cwd: 'out' });
      expect(await socket.next((m) => m.replyTo === 'cwd-out')).toMatchObject({ type: 'error', code: 'PATH_OUTSIDE_WORKSPACE' });
    } finally {
      socket.close();
    }
  });

  it('refuses bad variable names and empty commands with 400', async () => {
    for (const body of [{ command: 'env', env: { 'BAD NAME': 'x' } }, { command: [] }, { command: '' }, { command: 'x', timeoutMs: 10 }]) {
      const response = await api.post(`/api/v1/projects/${id}/exec`, { token: owner.accessToken, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('needs the execute permission; strangers do not learn the project exists', async () => {
    const reader = await signUp(api, 'sbx-reader');
    await api.post(`/api/v1/projects/${id}/members`, { token: owner.accessToken, body: { email: reader.email, role: 'read' } });
    const denied = await api.post(`/api/v1/projects/${id}/exec`, { token: reader.accessToken, body: { command: 'id' } });
    expect(denied.status).toBe(403);
    expect((await api.get(`/api/v1/projects/${id}/sandbox`, { token: reader.accessToken })).status).toBe(200);
    const stranger = await signUp(api, 'sbx-stranger');
    const hidden = await api.post(`/api/v1/projects/${id}/exec`, { token: stranger.accessToken, body: { command: 'id' } });
    expect(hidden.status).toBe(404);
  });
});
