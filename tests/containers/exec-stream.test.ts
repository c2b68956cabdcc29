import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, sh } from '../helpers/sandbox.js';
import { TestSocket } from '../helpers/ws.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
let socket: TestSocket;

beforeAll(async () => {
  // A short longest run, so a run that names no timeout is seen to get the deployment's.
  t = await startTestApp({ env: { EXEC_MAX_TIMEOUT_SECONDS: '3' } });
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'stream');
  projectId = await createProject(api, owner);
  socket = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${owner.accessToken}`);
});
afterAll(async () => {
  socket?.close();
  await t?.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

function outputOf(id: string): string {
  return socket.messages
    .filter((m) => m.type === 'exec.output' && m.id === id && m.stream === 'stdout')
    .map((m) => m.data)
    .join('');
}

describe('streaming exec over the WebSocket', () => {
  it('sends output as it comes, before the command ends', async () => {
    // The command cannot end before the test answers it: its first line must arrive while it still runs.
    socket.send({ type: 'exec.start', id: 'slow', projectId, command: 'echo first; read answer; echo "second $answer"' });
    await socket.next((m) => m.type === 'exec.started' && m.id === 'slow');
    const first = await socket.next((m) => m.type === 'exec.output' && m.id === 'slow');
    expect(first.data).toBe('first\n');
    expect(socket.messages.some((m) => m.type === 'exec.exit' && m.id === 'slow')).toBe(false);
    socket.send({ type: 'exec.stdin', id: 'slow', data: 'now\n', end: true });
    const exit = await socket.next((m) => m.type === 'exec.exit' && m.id === 'slow');
    expect(exit).toMatchObject({ exitCode: 0, timedOut: false, killed: false });
    expect(outputOf('slow')).toBe('second now\n');
  });

  it('accepts stdin, then its end', async () => {
    socket.send({ type: 'exec.start', id: 'cat', projectId, command: ['cat'] });
    await socket.next((m) => m.type === 'exec.started' && m.id === 'cat');
    socket.send({ type: 'exec.stdin', id: 'cat', data: 'hello ' });
    socket.send({ type: 'exec.stdin', id: 'cat', data: 'sandbox', end: true });
    const exit = await socket.next((m) => m.type === 'exec.exit' && m.id === 'cat');
    expect(exit.exitCode).toBe(0);
    expect(outputOf('cat')).toBe('hello sandbox');
  });

  it('kills the whole process group on request', async () => {
    socket.send({ type: 'exec.start', id: 'forever', projectId, command: 'sleep 400 & sleep 401' });
    await socket.next((m) => m.type === 'exec.started' && m.id === 'forever');
    socket.send({ type: 'exec.kill', id: 'forever' });
    const exit = await socket.next((m) => m.type === 'exec.exit' && m.id === 'forever', 10_000);
    expect(exit.killed).toBe(true);
    expect(exit.exitCode).not.toBe(0);
    const left = await sh(api, owner, projectId, 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "');
    expect(left).not.toContain('sleep 400');
    expect(left).not.toContain('sleep 401');
  });

  it('refuses a stranger, and an unknown run', async () => {
    const stranger = await signUp(api, 'stream-stranger');
    const theirs = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${stranger.accessToken}`);
    try {
      theirs.send({ type: 'exec.start', id: 'x', projectId, command: 'id' });
      expect(await theirs.next((m) => m.type === 'error')).toMatchObject({ code: 'PROJECT_NOT_FOUND' });
      theirs.send({ type: 'exec.kill', id: 'nothing' });
      expect(await theirs.next((m) => m.type === 'error')).toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      theirs.close();
    }
  });

  it('refuses bad input with a code, never INTERNAL', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ projectId: 'not-a-uuid', command: 'id' }, 'PROJECT_NOT_FOUND'],
      [{ projectId, command: 'id', env: { COUNT: 3 } }, 'VALIDATION_FAILED'],
      [{ projectId, command: 'id', env: 'A=1' }, 'VALIDATION_FAILED'],
      [{ projectId, command: 'id', env: { 'A B': 'x' } }, 'VALIDATION_FAILED'],
      [{ projectId, command: 'id', cwd: 42 }, 'VALIDATION_FAILED'],
      [{ projectId, command: 'id', timeoutMs: 'soon' }, 'VALIDATION_FAILED'],
      [{ projectId, command: 'id', timeoutMs: 60_000 }, 'VALIDATION_FAILED'],
      [{ projectId, command: ['id', 7] }, 'VALIDATION_FAILED'],
    ];
    for (const [fields, code] of bad) {
      const id = `bad-${bad.findIndex(([f]) => f === fields)}`;
      socket.send({ type: 'exec.start', id, ...fields });
      expect(await socket.next((m) => m.type === 'error' && m.replyTo === id), JSON.stringify(fields)).toMatchObject({ code });
    }
  });

  it("gives a run that names no timeout the deployment's longest (EXEC_MAX_TIMEOUT_SECONDS)", async () => {
    socket.send({ type: 'exec.start', id: 'long', projectId, command: 'sleep 30' });
    await socket.next((m) => m.type === 'exec.started' && m.id === 'long');
    const exit = await socket.next((m) => m.type === 'exec.exit' && m.id === 'long', 15_000);
    expect(exit).toMatchObject({ timedOut: true });
  });
});
