/**
 * run_command, process_output and stop_process against a real sandbox: exit codes and output come back capped,
 * a failing command is an error result, a command past its timeout never blocks the agent (it stays a managed
 * process), a background server is found on its port, a retried call never runs the command twice.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../lib/access.js';
import { createToolbox, execProcessRunner, hasManagedProcesses, MODEL_OUTPUT_BYTES, type Toolbox, type ToolContext } from '../../services/agents/tools/index.js';
import { sandboxSuite, sh } from '../helpers/sandbox.js';
import { appToolbox, call, MemoryJournal, toolContext } from '../helpers/toolbox.js';

const suite = sandboxSuite('tools-commands');
let projectId: string;
let toolbox: Toolbox;
let ctx: ToolContext;
let owner: Principal;

const shell = (script: string) => sh(suite.api, suite.owner, projectId, script);

beforeAll(async () => {
  projectId = await suite.project();
  toolbox = appToolbox(suite.app);
  owner = { kind: 'user', userId: suite.owner.userId };
  ctx = toolContext(projectId, owner);
});

describe('run_command', () => {
  it('runs in /workspace as the sandbox user and gives the exit code and output', async () => {
    const result = await call(toolbox, ctx, 'run_command', { command: 'pwd; id -u; echo to-stderr >&2' });
    expect(result.isError, result.content).toBe(false);
    expect(result.content).toMatch(/^Exit code 0\.\nOutput:\n/);
    expect(result.content).toContain('/workspace\n1000\n');
    expect(result.content).toContain('to-stderr');
    expect(result.display).toMatchObject({ kind: 'command', command: 'pwd; id -u; echo to-stderr >&2', exitCode: 0 });
  });

  it('a failing command is an error result with its exit code and output', async () => {
    const result = await call(toolbox, ctx, 'run_command', { command: 'echo broken; exit 3' });
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/^Exit code 3\./);
    expect(result.content).toContain('broken');
  });

  it('caps a flood of output, keeping its end', async () => {
    const result = await call(toolbox, ctx, 'run_command', { command: 'seq 1 100000' });
    expect(result.isError).toBe(false);
    expect(Buffer.byteLength(result.content)).toBeLessThanOrEqual(MODEL_OUTPUT_BYTES);
    expect(result.content).toMatch(/bytes cut here/);
    expect(result.content.endsWith('\n99999\n100000\n')).toBe(true);
  });

  it('does not block past its timeout: the command runs on as a managed process, which stop_process ends', { timeout: 60_000 }, async () => {
    expect(hasManagedProcesses(suite.app.services.containers)).toBe(true);
    const result = await call(toolbox, ctx, 'run_command', { command: 'echo started; sleep 30; echo never', timeout_seconds: 2 });
    expect(result.isError).toBe(false);
    expect(result.content).toContain('started');
    expect(result.content).not.toContain('never');
    const id = /Still running as process (\S+) after 2 s\./.exec(result.content)?.[1];
    expect(id, result.content).toBeDefined();
    expect(result.display).toMatchObject({ kind: 'command', exitCode: null, processId: id });

    const later = await call(toolbox, ctx, 'process_output', { process_id: id });
    expect(later.content).toMatch(/^Still running as process/);
    expect(later.content).toContain('started');
    const stopped = await call(toolbox, ctx, 'stop_process', { process_id: id });
    expect(stopped.isError).toBe(false);
    expect(stopped.content).toMatch(new RegExp(`^Stopped process ${id}\\. Exit code 143\\.`));
  });

  it('a background server returns at once with its process id and, once listening, its port', { timeout: 60_000 }, async () => {
    const server = `node -e 'require("http").createServer((q, s) => s.end("up")).listen(8123, () => console.log("listening"))'`;
    const result = await call(toolbox, ctx, 'run_command', { command: server, background: true });
    expect(result.isError, result.content).toBe(false);
    expect(result.content).toMatch(/^Still running as process /);
    const id = (result.display as { processId?: string }).processId;
    expect(id, result.content).toMatch(/^proc-[0-9a-f]+$/);
    let seen = result;
    for (let i = 0; i < 50 && !seen.content.includes('port(s) 8123'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      seen = await call(toolbox, ctx, 'process_output', { process_id: id });
    }
    expect(seen.content).toContain(`Still running as process ${id} listening on port(s) 8123`);
    expect(seen.content).toContain('listening');
    expect(seen.display).toMatchObject({ processId: id, ports: [8123] });
    expect(await shell('curl -s localhost:8123')).toBe('up');
    await call(toolbox, ctx, 'stop_process', { process_id: id });
    expect(await shell('curl -s localhost:8123 || echo down')).toBe('down');
  });

  it('a retried call does not run the command again', async () => {
    const journal = new MemoryJournal();
    const retryCtx = toolContext(projectId, owner, { journal, runId: 'run-cmd-retry' });
    const command = { id: 'call_cmd_1', name: 'run_command', input: { command: 'echo once >> runs.txt; wc -l < runs.txt' } };
    const first = await toolbox.execute(command, retryCtx);
    const second = await toolbox.execute(command, retryCtx);
    expect(second).toEqual(first);
    expect(await shell('cat runs.txt')).toBe('once');
  });

  it('process_output and stop_process refuse ids that are not processes of the project', async () => {
    for (const name of ['process_output', 'stop_process']) {
      const result = await call(toolbox, ctx, name, { process_id: 'no-such-process' });
      expect(result.isError, result.content).toBe(true);
      expect(result.content).toMatch(/no-such-process|No process/);
    }
  });
});

describe('run_command over plain exec (a containers service without managed processes)', () => {
  it('runs in the foreground, stops a command at its timeout, and refuses background commands', { timeout: 60_000 }, async () => {
    const plain = createToolbox({
      ir: suite.app.services.ir,
      files: suite.app.services.files,
      generate: suite.app.services.generate,
      containers: suite.app.services.containers,
      processes: execProcessRunner(suite.app.services.containers),
      maxCommandTimeoutMs: suite.app.config.sandbox.execTimeoutMs,
    });
    const done = await call(plain, ctx, 'run_command', { command: 'echo plain' });
    expect(done.content).toMatch(/^Exit code 0\.\nOutput:\nplain\n/);
    const id = (done.display as { processId?: string } | undefined)?.processId;
    expect(id).toBeUndefined();
    const slow = await call(plain, ctx, 'run_command', { command: 'echo started; sleep 30', timeout_seconds: 2 });
    expect(slow.content).toContain('still running after 2 s');
    const background = await call(plain, ctx, 'run_command', { command: 'sleep 1', background: true });
    expect(background.isError).toBe(true);
    expect(background.content).toMatch(/cannot keep background processes/);
  });
});
