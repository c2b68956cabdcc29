/**
 * run_command, process_output and stop_process against a real sandbox: exit codes and output come back capped,
 * a failing command is an error result, a command past its timeout never blocks the agent, a retried call
 * never runs the command twice.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../lib/access.js';
import { MODEL_OUTPUT_BYTES, type Toolbox, type ToolContext } from '../../services/agents/tools/index.js';
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

  it('does not block past its timeout', { timeout: 60_000 }, async () => {
    const result = await call(toolbox, ctx, 'run_command', { command: 'echo started; sleep 30; echo never', timeout_seconds: 2 });
    expect(result.content).toContain('started');
    expect(result.content).not.toContain('never');
    expect(result.content).toMatch(/Still running as process|still running after 2 s/);
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
