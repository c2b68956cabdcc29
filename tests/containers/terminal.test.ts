/**
 * Terminals over the WebSocket, against a real sandbox: a real TTY from the in-sandbox agent, resize, colours,
 * reattach to the same shell with its recent output (from this API instance and another), exit, the per-project
 * cap, access, and malformed messages refused with codes.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskPaths } from '../../services/containers/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { eventually } from '../helpers/poll.js';
import { createProject } from '../helpers/sandbox.js';
import { TestSocket } from '../helpers/ws.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
const projects: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'term');
  projectId = await createProject(api, owner);
  projects.push(projectId);
});
afterAll(async () => {
  for (const id of projects) await t?.services.sandboxes.destroy(id).catch(() => {});
  await t?.close();
});

function connect(app: TestApp, user: SignedIn): Promise<TestSocket> {
  return TestSocket.open(`${app.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${user.accessToken}`);
}

let requests = 0;

/** Opens (or reattaches) a terminal; resolves with its id and replay. */
async function open(socket: TestSocket, fields: Record<string, unknown> = {}): Promise<{ terminalId: string; replay: string; created: boolean }> {
  const id = `open-${++requests}`;
  socket.send({ type: 'terminal.open', id, projectId, cols: 80, rows: 24, ...fields });
  const reply = await socket.next((m) => (m.type === 'terminal.opened' || m.type === 'error') && (m.id === id || m.replyTo === id), 20_000);
  if (reply.type === 'error') throw Object.assign(new Error(reply.message), { code: reply.code });
  return reply;
}

/** Takes the terminal's output until it contains `text`; returns all of it. */
async function until(socket: TestSocket, terminalId: string, text: string | RegExp, timeoutMs = 10_000): Promise<string> {
  let seen = '';
  const deadline = Date.now() + timeoutMs;
  const found = () => (typeof text === 'string' ? seen.includes(text) : text.test(seen));
  while (!found()) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`terminal output never showed ${String(text)}; got ${JSON.stringify(seen)}`);
    const message = await socket.next((m) => m.type === 'terminal.output' && m.terminalId === terminalId, left).catch(() => {
      throw new Error(`terminal output never showed ${String(text)}; got ${JSON.stringify(seen)}`);
    });
    seen += message.data;
  }
  return seen;
}

function type(socket: TestSocket, terminalId: string, data: string): void {
  socket.send({ type: 'terminal.input', terminalId, data });
}

async function closeTerminal(socket: TestSocket, terminalId: string): Promise<void> {
  const id = `close-${++requests}`;
  socket.send({ type: 'terminal.close', id, terminalId, projectId });
  await socket.next((m) => (m.type === 'terminal.closed' && m.id === id) || (m.type === 'error' && m.replyTo === id), 10_000);
}

async function expectError(socket: TestSocket, message: Record<string, unknown>, code: string): Promise<void> {
  const id = `bad-${++requests}`;
  socket.send({ ...message, id });
  const reply = await socket.next((m) => m.type === 'error' && m.replyTo === id, 15_000);
  expect(reply.code, JSON.stringify(message)).toBe(code);
}

describe('terminals', () => {
  it('gives a real TTY: a login shell in /workspace as the sandbox user, resize followed, colours passed through', async () => {
    const socket = await connect(t, owner);
    try {
      const { terminalId, created } = await open(socket);
      expect(created).toBe(true);
      // Markers built by the shell, so the echo of the typed line never matches them.
      // The terminal is the shell's own (uid 1000), and the shell holds no capability (the agent runs as root).
      type(socket, terminalId, 'echo "A""=$(tty)|$(stty size)|$TERM|$(id -u)|$(pwd)|$0|$(stat -c %u "$(tty)")|$(grep CapEff /proc/$$/status | cut -f2)=""Z"\r');
      const out = await until(socket, terminalId, /A=[^\r\n]*=Z/);
      expect(out).toMatch(/A=\/dev\/pts\/\d+\|24 80\|xterm-256color\|1000\|\/workspace\|-bash\|1000\|0000000000000000=Z/);

      socket.send({ type: 'terminal.resize', terminalId, cols: 132, rows: 40 });
      type(socket, terminalId, 'echo "S""=$(stty size)=""E"\r');
      expect(await until(socket, terminalId, /S=[^\r\n]*=E/)).toContain('S=40 132=E');

      type(socket, terminalId, "printf '\\033[31m%s\\033[0m\\n' red-text\r");
      expect(await until(socket, terminalId, '\u001b[31mred-text\u001b[0m')).toContain('\u001b[31mred-text');

      // Input is echoed by the terminal itself, as typed.
      type(socket, terminalId, 'echo-typed-here');
      expect(await until(socket, terminalId, 'echo-typed-here')).toContain('echo-typed-here');
      // Ctrl-U kills the line in readline, in order with the keys before it (a Ctrl-C here raced the typed text:
      // its signal could reach bash before readline had read the line, which then stayed).
      type(socket, terminalId, '\u0015');

      // Job control: Ctrl-Z stops the foreground job (the shell owns its terminal), fg brings it back.
      // Each key waits for the shell to have got that far (a marker printed right before the job starts, fg naming
      // the job it resumes): a fixed pause lost the race on a busy machine, ^Z reaching the shell before its job.
      type(socket, terminalId, 'echo "R""=job=""E"; sleep 30\r');
      await until(socket, terminalId, /R=job=E/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      type(socket, terminalId, '\u001a');
      expect(await until(socket, terminalId, /Stopped\s+sleep 30/)).toMatch(/Stopped/);
      type(socket, terminalId, 'fg\r');
      await until(socket, terminalId, /fg\r?\n[^]*sleep 30/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      type(socket, terminalId, '\u0003'); // the resumed sleep ends by SIGINT: 130
      type(socket, terminalId, 'echo "J""=$?=""E"\r');
      expect(await until(socket, terminalId, /J=\d+=E/)).toContain('J=130=E');
      await closeTerminal(socket, terminalId);
    } finally {
      socket.close();
    }
  });

  it('keeps the shell across a dropped socket: the reattach replays recent output and continues the same shell', async () => {
    const first = await connect(t, owner);
    const { terminalId } = await open(first);
    type(first, terminalId, 'export X=41; echo "before-$((X+1))-drop"\r');
    await until(first, terminalId, 'before-42-drop');
    first.close();

    const second = await connect(t, owner);
    try {
      const again = await open(second, { terminalId, cols: 100, rows: 30 });
      expect(again.created).toBe(false);
      expect(again.replay).toContain('before-42-drop');
      type(second, terminalId, 'echo "after-$X-$(stty size)-drop"\r');
      await until(second, terminalId, 'after-41-30 100-drop');

      // The shell's own exit is reported, with its code.
      type(second, terminalId, 'exit 3\r');
      const exit = await second.next((m) => m.type === 'terminal.exit' && m.terminalId === terminalId, 10_000);
      expect(exit.exitCode).toBe(3);
      // An exited terminal can still be looked at: its last output, then its exit.
      const late = await open(second, { terminalId });
      expect(late.replay).toContain('after-41');
      expect((await second.next((m) => m.type === 'terminal.exit' && m.terminalId === terminalId)).exitCode).toBe(3);
    } finally {
      second.close();
    }
  });

  it('keeps one attachment when a connection opens the same terminal twice at once: output is never doubled', async () => {
    const socket = await connect(t, owner);
    try {
      const { terminalId } = await open(socket);
      socket.send({ type: 'terminal.open', id: 'twice-1', projectId, terminalId, cols: 80, rows: 24 });
      socket.send({ type: 'terminal.open', id: 'twice-2', projectId, terminalId, cols: 80, rows: 24 });
      // Both may open one after the other, or the later-handled one supersedes the other (CONFLICT): either way
      // one attachment stays.
      const twice = (m: { id?: string; replyTo?: string }) => ['twice-1', 'twice-2'].includes((m.id ?? m.replyTo) as string);
      await socket.next((m) => m.type === 'terminal.opened' && twice(m), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const m of socket.messages.filter((m) => m.type === 'error' && twice(m))) expect(m.code).toBe('CONFLICT');
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.messages.splice(0);
      type(socket, terminalId, 'echo "once-$((3*3))-only"\r');
      await until(socket, terminalId, /once-9-only[\s\S]*\$ $/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const late = socket.messages.filter((m) => m.type === 'terminal.output').map((m) => m.data).join('');
      expect(late).not.toContain('once-9-only');
      await closeTerminal(socket, terminalId);
    } finally {
      socket.close();
    }
  });

  it('lets another API instance reattach: the shell lives in the sandbox', async () => {
    const other = await startTestApp({ database: t.database, env: { JWT_SECRET: t.config.auth.jwtSecret } });
    const here = await connect(t, owner);
    const there = await connect(other, owner);
    try {
      const { terminalId } = await open(here);
      type(here, terminalId, 'Y=instance; echo "one-$Y-ok"\r');
      await until(here, terminalId, 'one-instance-ok');
      here.close();
      const again = await open(there, { terminalId });
      expect(again.replay).toContain('one-instance-ok');
      type(there, terminalId, 'echo "two-$Y-ok"\r');
      await until(there, terminalId, 'two-instance-ok');
      await closeTerminal(there, terminalId);
    } finally {
      here.close();
      there.close();
      await other.close();
    }
  });

  it('lists the terminals, caps them per project with TERMINAL_LIMIT, and closes them', async () => {
    const socket = await connect(t, owner);
    try {
      socket.send({ type: 'terminal.list', id: 'list-0', projectId });
      const before = await socket.next((m) => m.type === 'terminal.listed' && m.id === 'list-0', 15_000);
      const live = before.terminals.filter((x: { exited: boolean }) => !x.exited).length;
      const opened: string[] = [];
      for (let i = live; i < 8; i++) opened.push((await open(socket)).terminalId);
      await expectError(socket, { type: 'terminal.open', projectId, cols: 80, rows: 24 }, 'TERMINAL_LIMIT');

      socket.send({ type: 'terminal.list', id: 'list-1', projectId });
      const listed = await socket.next((m) => m.type === 'terminal.listed' && m.id === 'list-1');
      const ids = listed.terminals.map((x: { terminalId: string }) => x.terminalId);
      for (const id of opened) expect(ids).toContain(id);

      for (const id of opened) {
        await closeTerminal(socket, id);
        expect((await socket.next((m) => m.type === 'terminal.exit' && m.terminalId === id, 10_000)).exitCode).not.toBe(0);
      }
      // Room again.
      const { terminalId } = await open(socket);
      await closeTerminal(socket, terminalId);
    } finally {
      socket.close();
    }
  });

  it('coalesces a flood into few frames and loses nothing', async () => {
    const socket = await connect(t, owner);
    try {
      const { terminalId } = await open(socket);
      // 2 MB of output in lines of 100: few frames, every byte through.
      type(socket, terminalId, 'head -c 2000000 /dev/zero | tr "\\0" x | fold -w 100; echo "flood-$((6*7))-done"\r');
      let frames = 0;
      let chars = 0;
      let tail = '';
      const deadline = Date.now() + 30_000;
      while (!tail.includes('flood-42-done')) {
        const message = await socket.next((m) => m.type === 'terminal.output' && m.terminalId === terminalId, deadline - Date.now());
        frames += 1;
        chars += (message.data as string).split('x').length - 1;
        tail = (tail + message.data).slice(-200);
      }
      expect(chars).toBeGreaterThanOrEqual(2_000_000);
      expect(frames).toBeLessThan(1000);
      await closeTerminal(socket, terminalId);
    } finally {
      socket.close();
    }
  });

  it("refuses a stranger, a read-only member, and another project's terminal", async () => {
    const socket = await connect(t, owner);
    const { terminalId } = await open(socket);
    const stranger = await signUp(api, 'term-stranger');
    const theirs = await connect(t, stranger);
    const reader = await signUp(api, 'term-reader');
    const added = await api.post(`/api/v1/projects/${projectId}/members`, { token: owner.accessToken, body: { email: reader.email, role: 'read' } });
    expect(added.status, added.text).toBe(201);
    const readers = await connect(t, reader);
    try {
      await expectError(theirs, { type: 'terminal.open', projectId, cols: 80, rows: 24 }, 'PROJECT_NOT_FOUND');
      await expectError(theirs, { type: 'terminal.open', projectId, terminalId, cols: 80, rows: 24 }, 'PROJECT_NOT_FOUND');
      await expectError(theirs, { type: 'terminal.list', projectId }, 'PROJECT_NOT_FOUND');
      await expectError(theirs, { type: 'terminal.close', projectId, terminalId }, 'PROJECT_NOT_FOUND');
      await expectError(theirs, { type: 'terminal.input', terminalId, data: 'id\r' }, 'TERMINAL_NOT_FOUND');
      await expectError(readers, { type: 'terminal.open', projectId, terminalId, cols: 80, rows: 24 }, 'FORBIDDEN');
      // The stranger's own project knows nothing of the owner's terminal.
      const strangerProject = await createProject(api, stranger);
      projects.push(strangerProject);
      await expectError(theirs, { type: 'terminal.open', projectId: strangerProject, terminalId, cols: 80, rows: 24 }, 'TERMINAL_NOT_FOUND');
      await closeTerminal(socket, terminalId);
    } finally {
      socket.close();
      theirs.close();
      readers.close();
    }
  });

  it('refuses malformed messages with a code, never INTERNAL', async () => {
    const socket = await connect(t, owner);
    try {
      const { terminalId } = await open(socket);
      const bad: Array<[Record<string, unknown>, string]> = [
        [{ type: 'terminal.open', projectId }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.open', projectId, cols: 0, rows: 24 }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.open', projectId, cols: 'wide', rows: 24 }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.open', projectId, cols: 80, rows: 1e9 }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.open', projectId, cols: 80, rows: 24, terminalId: '../../exec' }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.open', projectId, cols: 80, rows: 24, terminalId: '0'.repeat(32) }, 'TERMINAL_NOT_FOUND'],
        [{ type: 'terminal.open', projectId, cols: 80, rows: 24, cwd: '../..' }, 'PATH_OUTSIDE_WORKSPACE'],
        [{ type: 'terminal.open', projectId: 'not-a-uuid', cols: 80, rows: 24 }, 'PROJECT_NOT_FOUND'],
        [{ type: 'terminal.open', cols: 80, rows: 24 }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.input', terminalId }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.input', terminalId, data: 42 }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.input', terminalId, data: 'x'.repeat(70_000) }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.input', data: 'ls\r' }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.input', terminalId: 'f'.repeat(32), data: 'ls\r' }, 'TERMINAL_NOT_FOUND'],
        [{ type: 'terminal.resize', terminalId, cols: 80 }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.resize', terminalId, cols: -1, rows: 10 }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.close', terminalId: 'a'.repeat(32) }, 'VALIDATION_FAILED'],
        [{ type: 'terminal.close', terminalId: 'a'.repeat(32), projectId }, 'TERMINAL_NOT_FOUND'],
        [{ type: 'terminal.list' }, 'VALIDATION_FAILED'],
      ];
      for (const [message, code] of bad) await expectError(socket, message, code);
      // The terminal still works after all that.
      type(socket, terminalId, 'echo "still-$((1+1))-here"\r');
      await until(socket, terminalId, 'still-2-here');
      await closeTerminal(socket, terminalId);
    } finally {
      socket.close();
    }
  });
});

describe('terminals and the project', () => {
  it('deleting a project with a live terminal removes its sandbox and its disk', async () => {
    const id = await createProject(api, owner);
    projects.push(id);
    const socket = await connect(t, owner);
    try {
      const { terminalId } = await open(socket, { projectId: id });
      type(socket, terminalId, 'cd /workspace && sleep 600 & echo "bg-$((2+3))-started"\r');
      await until(socket, terminalId, 'bg-5-started');
      const deleted = await api.delete(`/api/v1/projects/${id}`, { token: owner.accessToken });
      expect(deleted.status, deleted.text).toBe(204);
      const paths = diskPaths(t.config.sandbox.disksDir, id);
      expect(existsSync(paths.image)).toBe(false);
      expect(existsSync(paths.mount)).toBe(false);
      // The client hears that its shell went with the sandbox.
      await socket.next((m) => (m.type === 'terminal.detached' || m.type === 'terminal.exit') && m.terminalId === terminalId, 10_000);
    } finally {
      socket.close();
    }
  });
});

describe('terminals and the idle sweep', () => {
  let idle: TestApp;
  beforeAll(async () => {
    idle = await startTestApp({ env: { SANDBOX_PAUSE_AFTER_SECONDS: '1', SANDBOX_STOP_AFTER_SECONDS: '2', SANDBOX_TERMINAL_IDLE_SECONDS: '3' } });
  });
  afterAll(async () => {
    await idle?.close();
  });

  it('never pauses a sandbox with an open terminal; pauses it once the terminal is closed', async () => {
    const idleApi = new ApiClient(idle.baseUrl);
    const user = await signUp(idleApi, 'term-idle');
    const id = await createProject(idleApi, user);
    const socket = await connect(idle, user);
    try {
      const opened = await (async () => {
        socket.send({ type: 'terminal.open', id: 'idle-open', projectId: id, cols: 80, rows: 24 });
        return socket.next((m) => m.type === 'terminal.opened' && m.id === 'idle-open', 20_000);
      })();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      for (let i = 0; i < 3; i++) {
        expect((await idle.services.sandboxes.sweepIdle()).paused).not.toContain(id);
        await new Promise((resolve) => setTimeout(resolve, 600));
      }
      socket.send({ type: 'terminal.close', id: 'idle-close', terminalId: opened.terminalId });
      await socket.next((m) => m.type === 'terminal.closed' && m.id === 'idle-close', 10_000);
      await eventually(async () => (await idle.services.sandboxes.sweepIdle()).paused.includes(id), 'the sandbox is paused once idle');
    } finally {
      socket.close();
      await idle.services.sandboxes.destroy(id).catch(() => {});
    }
  });

  it('lets a terminal nobody is attached to, silent a while, stop keeping its sandbox awake; the shell lives on', async () => {
    const idleApi = new ApiClient(idle.baseUrl);
    const user = await signUp(idleApi, 'term-detached');
    const id = await createProject(idleApi, user);
    let socket = await connect(idle, user);
    try {
      socket.send({ type: 'terminal.open', id: 'detached-open', projectId: id, cols: 80, rows: 24 });
      const opened = await socket.next((m) => m.type === 'terminal.opened' && m.id === 'detached-open', 20_000);
      socket.send({ type: 'terminal.input', terminalId: opened.terminalId, data: 'export KEPT=yes\r' });
      // Attached: in use however long it stays silent (past the terminal idle time of 3 s).
      await new Promise((resolve) => setTimeout(resolve, 3500));
      expect(await idle.services.sandboxes.liveWork(id)).toMatchObject({ terminals: 1 });
      expect((await idle.services.sandboxes.sweepIdle()).paused).not.toContain(id);

      // The browser goes away: for a while the terminal still counts (the person may be back in a moment)...
      socket.close();
      await eventually(async () => (await idle.services.sandboxes.liveWork(id))?.terminals === 1, 'still counted just after the detach');
      expect((await idle.services.sandboxes.sweepIdle()).paused).not.toContain(id);
      // ...then no longer: the sandbox pauses with the shell in it.
      await eventually(async () => (await idle.services.sandboxes.liveWork(id))?.terminals === 0, 'not counted once idle', 15_000);
      await eventually(async () => (await idle.services.sandboxes.sweepIdle()).paused.includes(id), 'the sandbox is paused');

      // Coming back resumes the sandbox and finds the same shell.
      socket = await connect(idle, user);
      socket.send({ type: 'terminal.open', id: 'detached-back', projectId: id, terminalId: opened.terminalId, cols: 80, rows: 24 });
      await socket.next((m) => m.type === 'terminal.opened' && m.id === 'detached-back', 20_000);
      socket.send({ type: 'terminal.input', terminalId: opened.terminalId, data: 'echo "kept=$KEPT"\r' });
      await until(socket, opened.terminalId, 'kept=yes');
    } finally {
      socket.close();
      await idle.services.sandboxes.destroy(id).catch(() => {});
    }
  });
});
