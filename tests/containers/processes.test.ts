/**
 * Managed processes in a real sandbox, through the HTTP API: a server started in the background is found on its
 * port, its output kept with byte offsets; a wait with a timeout returns it running; a stop ends its whole
 * process group; an exit gives its code; the cap on running processes; another user's project and bad input
 * answered with codes; `process.*` events announced; the preview follows the process that listens.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../lib/event-bus.js';
import type { ProcessInfo } from '../../lib/api-types.js';
import { startTestApp } from '../helpers/app.js';
import { ApiClient, signUp } from '../helpers/http.js';
import { eventually } from '../helpers/poll.js';
import { previewFetch } from '../helpers/preview.js';
import { sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('processes');
let projectId: string;
const events: BusEvent[] = [];

const base = () => `/api/v1/projects/${projectId}/processes`;
const auth = () => ({ token: suite.owner.accessToken });

async function start(command: string, extra: Record<string, unknown> = {}): Promise<ProcessInfo> {
  const response = await suite.api.post(base(), { ...auth(), body: { command, ...extra } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function get(id: string): Promise<ProcessInfo> {
  const response = await suite.api.get(`${base()}/${id}`, auth());
  expect(response.status, response.text).toBe(200);
  return response.body;
}

async function stop(id: string): Promise<ProcessInfo> {
  const response = await suite.api.post(`${base()}/${id}/stop`, auth());
  expect(response.status, response.text).toBe(200);
  return response.body;
}

async function waitFor(id: string, timeoutMs: number): Promise<ProcessInfo> {
  const response = await suite.api.post(`${base()}/${id}/wait?timeoutMs=${timeoutMs}`, auth());
  expect(response.status, response.text).toBe(200);
  return response.body;
}

async function output(id: string, query = ''): Promise<{ output: string; from: number; next: number; truncatedBefore: boolean }> {
  const response = await suite.api.get(`${base()}/${id}/output${query}`, auth());
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** How many processes of the sandbox run `sleep <seconds>` for seconds matching the pattern (no procps there). */
async function sleeping(pattern: string): Promise<number> {
  const script = `for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep ${pattern} ' || true`;
  return Number(await sh(suite.api, suite.owner, projectId, script));
}

const SERVER = `node -e 'require("http").createServer((q, s) => s.end("hello from 8000")).listen(8000, () => console.log("listening"))'`;

beforeAll(async () => {
  projectId = await suite.project();
  await suite.app.infra.bus.subscribe(projectId, (event) => void events.push(event));
});

describe('managed processes', () => {
  it('a server in the background: its port found, its output kept, a wait that times out returns it running', async () => {
    const started = await start(`echo booting; ${SERVER}`);
    expect(started).toMatchObject({ command: `echo booting; ${SERVER}`, cwd: '/workspace', status: 'running', exitCode: null, exitedAt: null });
    expect(started.id).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);

    let info = started;
    await eventually(async () => (info = await get(started.id)).ports.includes(8000), 'port 8000 seen');
    expect(info).toMatchObject({ status: 'running', ports: [8000] });
    expect(await sh(suite.api, suite.owner, projectId, 'curl -s localhost:8000')).toBe('hello from 8000');

    const all = await output(started.id);
    expect(all).toEqual({ output: 'booting\nlistening\n', from: 0, next: 18, truncatedBefore: false });
    expect(await output(started.id, '?after=8&limit=4')).toEqual({ output: 'list', from: 8, next: 12, truncatedBefore: false });
    expect(await output(started.id, '?after=18')).toEqual({ output: '', from: 18, next: 18, truncatedBefore: false });

    const begun = Date.now();
    expect(await waitFor(started.id, 500)).toMatchObject({ status: 'running', ports: [8000] });
    expect(Date.now() - begun).toBeGreaterThanOrEqual(450);

    const list = await suite.api.get(base(), auth());
    expect(list.status).toBe(200);
    expect(list.body.processes.map((p: ProcessInfo) => p.id)).toContain(started.id);

    const stopped = await stop(started.id);
    expect(stopped).toMatchObject({ status: 'exited', exitCode: 143, ports: [] });
    expect(stopped.exitedAt).not.toBeNull();

    await eventually(() => events.some((e) => e.type === 'process.exited' && (e.data as { process: ProcessInfo }).process.id === started.id), 'exit announced');
    const kinds = events.filter((e) => (e.data as { process?: ProcessInfo }).process?.id === started.id).map((e) => e.type);
    expect(kinds[0]).toBe('process.started');
    expect(kinds).toContain('process.ports');
    expect(kinds.filter((kind) => kind === 'process.exited')).toHaveLength(1);
  });

  it('a stop ends the whole process group, children included, even one that ignores TERM', { timeout: 60_000 }, async () => {
    const info = await start(`sh -c 'trap "" TERM; sleep 301' & sleep 302 & wait`);
    await eventually(async () => (await sleeping('30[12]')) === 2, 'children running');
    const begun = Date.now();
    const stopped = await stop(info.id);
    expect(stopped.status).toBe('exited');
    expect(Date.now() - begun).toBeLessThan(8000);
    expect(await sleeping('30[12]')).toBe(0);
  });

  it('a command that exits gives its exit code; a process whose leader left behind a child is stopped too', async () => {
    const failing = await start('echo out; echo err >&2; exit 7', { cwd: 'sub/..', env: { GREETING: 'hi' } });
    expect(await waitFor(failing.id, 10_000)).toMatchObject({ status: 'exited', exitCode: 7 });
    expect((await output(failing.id)).output).toBe('out\nerr\n');

    const env = await start('mkdir -p sub && cd sub && echo "$GREETING from $(pwd)"', { env: { GREETING: 'hi' } });
    await waitFor(env.id, 10_000);
    expect((await output(env.id)).output).toBe('hi from /workspace/sub\n');

    const inSub = await start('pwd', { cwd: 'sub' });
    expect(inSub.cwd).toBe('/workspace/sub');
    await waitFor(inSub.id, 10_000);
    expect((await output(inSub.id)).output).toBe('/workspace/sub\n');

    const orphaning = await start('sleep 303 & echo left');
    expect(await waitFor(orphaning.id, 10_000)).toMatchObject({ status: 'exited', exitCode: 0 });
    expect(await sleeping('303')).toBe(1);
    await stop(orphaning.id);
    expect(await sleeping('303')).toBe(0);
  });

  it('keeps the last MiB of output with offsets, and says when older output was dropped', async () => {
    // 1.5 MiB of numbered lines: the first half MiB is gone.
    const info = await start(`node -e 'for (let i = 0; i < 24576; i++) process.stdout.write(String(i).padStart(63, "0") + "\\n")'`);
    expect(await waitFor(info.id, 20_000)).toMatchObject({ status: 'exited', exitCode: 0 });
    const first = await output(info.id, '?after=0&limit=128');
    expect(first.truncatedBefore).toBe(true);
    expect(first.from).toBe(24576 * 64 - 1024 * 1024);
    expect(first.output).toBe(`${'8192'.padStart(63, '0')}\n${'8193'.padStart(63, '0')}\n`);
    const last = await output(info.id, `?after=${24576 * 64 - 64}`);
    expect(last).toEqual({ output: `${'24575'.padStart(63, '0')}\n`, from: 24576 * 64 - 64, next: 24576 * 64, truncatedBefore: false });
  });

  it('refuses more than 32 running processes, with a code', { timeout: 60_000 }, async () => {
    const running = (await suite.api.get(base(), auth())).body.processes.filter((p: ProcessInfo) => p.status === 'running').length;
    const ids: string[] = [];
    try {
      for (let i = running; i < 32; i++) ids.push((await start(`sleep ${400 + i}`)).id);
      const refused = await suite.api.post(base(), { ...auth(), body: { command: 'sleep 500' } });
      expect(refused.status, refused.text).toBe(409);
      expect(refused.body.error.code).toBe('CONFLICT');
      expect(refused.body.error.message).toMatch(/32/);
    } finally {
      for (const id of ids) await stop(id);
    }
    const again = await start('true');
    expect(again.status === 'running' || again.exitCode === 0).toBe(true);
  });

  it('an unknown process is NOT_FOUND; bad input is refused with codes', async () => {
    for (const path of ['no-such-process', 'no-such-process/output']) {
      const response = await suite.api.get(`${base()}/${path}`, auth());
      expect(response.status, path).toBe(404);
      expect(response.body.error.code).toBe('NOT_FOUND');
    }
    const stopUnknown = await suite.api.post(`${base()}/no-such-process/stop`, auth());
    expect(stopUnknown.status).toBe(404);

    const bad: Array<[unknown, number, string]> = [
      [{ command: '' }, 400, 'VALIDATION_FAILED'],
      [{ command: '   ' }, 400, 'VALIDATION_FAILED'],
      [{ command: 'x'.repeat(16 * 1024 + 1) }, 400, 'VALIDATION_FAILED'],
      [{ command: 'true', env: { 'BAD NAME': 'x' } }, 400, 'VALIDATION_FAILED'],
      [{ command: 'true', cwd: '../etc' }, 403, 'PATH_OUTSIDE_WORKSPACE'],
      [{ command: 'true', cwd: 'no/such/dir' }, 404, 'FILE_NOT_FOUND'],
      [{ command: 'true', extra: 1 }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of bad) {
      const response = await suite.api.post(base(), { ...auth(), body });
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(response.body.error.code).toBe(code);
    }
    const badQuery = await suite.api.get(`${base()}/whatever/output?after=-1`, auth());
    expect(badQuery.status).toBe(400);
    const badId = await suite.api.get(`${base()}/${encodeURIComponent('a/b')}`, auth());
    expect(badId.status).toBe(400);
  });

  it("another user's project is not found, and its processes stay out of reach", async () => {
    const info = await start('sleep 600');
    try {
      const stranger = await signUp(suite.api, 'processes-stranger');
      const token = { token: stranger.accessToken };
      for (const response of [
        await suite.api.get(base(), token),
        await suite.api.get(`${base()}/${info.id}`, token),
        await suite.api.post(`${base()}/${info.id}/stop`, token),
        await suite.api.post(base(), { ...token, body: { command: 'true' } }),
      ]) {
        expect(response.status).toBe(404);
        expect(response.body.error.code).toBe('PROJECT_NOT_FOUND');
      }
      expect((await get(info.id)).status).toBe('running');
    } finally {
      await stop(info.id);
    }
  });

  it('the preview follows a managed process that listens while nothing listens on the preview port', { timeout: 60_000 }, async () => {
    const other = await suite.project();
    const opened = await suite.api.post(`/api/v1/projects/${other}/preview`, auth());
    expect(opened.status, opened.text).toBe(200);
    const serve = async (port: number, text: string) => {
      const response = await suite.api.post(`/api/v1/projects/${other}/processes`, {
        ...auth(),
        body: { command: `node -e 'require("http").createServer((q, s) => s.end("${text}")).listen(${port})'` },
      });
      expect(response.status, response.text).toBe(201);
    };
    const status = async () => {
      const response = await suite.api.get(`/api/v1/projects/${other}/preview/status`, auth());
      expect(response.status, response.text).toBe(200);
      return response.body as { port: number; listening: boolean | null; process: { processId?: string; pid?: number; command: string } | null };
    };
    expect(await status()).toEqual({ port: 3000, listening: false, process: null });
    await serve(5173, 'vite-like');
    await eventually(async () => (await previewFetch(suite.app.baseUrl, `${opened.body.origin}/`)).text === 'vite-like', 'preview on 5173');
    // The IDE says which process serves the preview.
    const vite = await status();
    expect(vite).toMatchObject({ port: 5173, listening: true, process: { processId: expect.any(String) } });
    expect(vite.process!.command).toContain('listen(5173)');
    // Once something listens on the project's preview port (3000), the preview is that again.
    await serve(3000, 'on the preview port');
    await eventually(async () => (await previewFetch(suite.app.baseUrl, `${opened.body.origin}/`)).text === 'on the preview port', 'preview on 3000');
    expect((await status()).process!.command).toContain('listen(3000)');
  });

  it('names a server that is no managed process (one started in a terminal) by its pid and command line', { timeout: 60_000 }, async () => {
    const other = await suite.project();
    // A process that leaves a server behind in a session of its own: no managed process holds the port.
    const response = await suite.api.post(`/api/v1/projects/${other}/processes`, {
      ...auth(),
      body: { command: `setsid node -e 'require("http").createServer((q, s) => s.end("x")).listen(3000)' </dev/null >/dev/null 2>&1 &` },
    });
    expect(response.status, response.text).toBe(201);
    let found: any; // the status as the API answered it
    await eventually(async () => {
      found = (await suite.api.get(`/api/v1/projects/${other}/preview/status`, auth())).body;
      return found.listening === true;
    }, 'a listener on 3000');
    expect(found.port).toBe(3000);
    expect(found.process.processId).toBeUndefined();
    expect(found.process.pid).toBeGreaterThan(1);
    expect(found.process.command).toMatch(/^node -e require\("http"\).*listen\(3000\)/);
    // A reader of the project sees it too; a stranger does not.
    const stranger = await signUp(suite.api, 'preview-stranger');
    expect((await suite.api.get(`/api/v1/projects/${other}/preview/status`, { token: stranger.accessToken })).status).toBe(404);
  });

  it('another API instance (the one that started it gone or not) finds the process by its id', { timeout: 60_000 }, async () => {
    const info = await start('echo from-the-first; sleep 700');
    const second = await startTestApp({ env: { JWT_SECRET: suite.app.env.JWT_SECRET! }, database: suite.app.database });
    try {
      const api = new ApiClient(second.baseUrl);
      const path = `/api/v1/projects/${projectId}/processes/${info.id}`;
      const seen = await api.get(path, auth());
      expect(seen.status, seen.text).toBe(200);
      expect(seen.body).toMatchObject({ id: info.id, status: 'running' });
      expect((await api.get(`${path}/output`, auth())).body.output).toBe('from-the-first\n');
      const stopped = await api.post(`${path}/stop`, auth());
      expect(stopped.body).toMatchObject({ status: 'exited', exitCode: 143 });
    } finally {
      await second.close();
    }
  });
});
