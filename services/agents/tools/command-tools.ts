/**
 * run_command, process_output, stop_process: commands in the project's sandbox that never block the agent on
 * a server. A foreground command is waited for up to its timeout; one still running then (or started with
 * `background: true`) stays a managed process whose id, output so far and ports the model gets.
 */
import type { ProcessInfo } from '../../../lib/api-types.js';
import { fieldsOf, MAX_COMMAND_BYTES, boolean, integer, text } from './inputs.js';
import { once } from './journal.js';
import { capText, DISPLAY_OUTPUT_BYTES, errorResult, failed, ok, ToolInputError } from './results.js';
import type { ResolvedDeps, ToolSpec } from './tool-spec.js';
import type { ToolContext, ToolResult } from './types.js';

export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 60;
/** How long a background command is watched before the model gets its first output. */
const BACKGROUND_SETTLE_MS = 1000;
/** Heartbeats while a command is waited for (Temporal's activity heartbeat timeout is longer). */
const WAIT_SLICE_MS = 10_000;
/** Output asked of the sandbox at once; the model sees at most MODEL_OUTPUT_BYTES of it (head and tail). */
const OUTPUT_FETCH_BYTES = 1024 * 1024;
const PROCESS_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function processId(tool: string, input: unknown): string {
  const fields = fieldsOf(tool, input, ['process_id']);
  const id = text(tool, fields, 'process_id', { maxBytes: 128 });
  if (!PROCESS_ID.test(id)) throw new ToolInputError(`${tool}: ${JSON.stringify(id.slice(0, 64))} is not a process id; run_command gives them`);
  return id;
}

/** Waits for the process up to `timeoutMs`, heartbeating, and stops waiting (not the process) when the run is cancelled. */
async function waitFor(deps: ResolvedDeps, ctx: ToolContext, info: ProcessInfo, timeoutMs: number): Promise<ProcessInfo> {
  const deadline = Date.now() + timeoutMs;
  let current = info;
  while (current.status === 'running' && !ctx.signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    current = await deps.processes.wait(ctx.principal, ctx.projectId, info.id, { timeoutMs: Math.min(left, WAIT_SLICE_MS) });
    ctx.heartbeat();
  }
  return current;
}

async function outputOf(deps: ResolvedDeps, ctx: ToolContext, id: string): Promise<{ text: string; truncatedBefore: boolean }> {
  const output = await deps.processes.output(ctx.principal, ctx.projectId, id, { after: 0, limit: OUTPUT_FETCH_BYTES });
  return { text: output.output, truncatedBefore: output.truncatedBefore || output.from > 0 };
}

function describe(info: ProcessInfo, output: { text: string; truncatedBefore: boolean }, waitedSeconds?: number): ToolResult {
  const ports = info.ports.length > 0 ? ` listening on port(s) ${info.ports.join(', ')}` : '';
  const head =
    info.status === 'exited'
      ? `Exit code ${info.exitCode ?? 'unknown'}.`
      : `Still running as process ${info.id}${ports}` +
        (waitedSeconds !== undefined ? ` after ${waitedSeconds} s` : '') +
        '. It keeps running in the background: use process_output to see its output later, stop_process to stop it.';
  const earlier = output.truncatedBefore ? '[earlier output was dropped]\n' : '';
  const body = output.text === '' ? '(no output)' : `${earlier}${output.text}`;
  const result = ok(`${head}\nOutput:\n${body}`, {
    display: {
      kind: 'command',
      command: info.command,
      exitCode: info.status === 'exited' ? info.exitCode : null,
      output: capText(output.text, DISPLAY_OUTPUT_BYTES).text,
      ...(info.status === 'running' || info.ports.length > 0 ? { processId: info.id, ports: info.ports } : {}),
    },
    hint: 'the end of the output is kept; process_output shows it again',
  });
  // A failing command is an error the model should look at (and what stuck detection counts).
  return info.status === 'exited' && info.exitCode !== 0 ? { ...result, isError: true } : result;
}

export function commandTools(deps: ResolvedDeps): ToolSpec[] {
  const maxTimeoutSeconds = Math.max(1, Math.floor(deps.maxCommandTimeoutMs / 1000));

  const runCommand: ToolSpec = {
    definition: {
      name: 'run_command',
      inputSchema: {
        type: 'object',
        properties: {
          command: { type: 'string', description: 'The shell command line, e.g. "npm test" or "cd api && go build ./...".' },
          timeout_seconds: { type: 'integer', minimum: 1, maximum: maxTimeoutSeconds, description: 'How long to wait for it to finish.' },
          background: { type: 'boolean', description: 'Start it and return at once (servers, watchers).' },
        },
        required: ['command'],
        additionalProperties: false,
      },
    },
    run: (call, ctx) =>
      once(ctx, call, async (journal) => {
        try {
          const fields = fieldsOf('run_command', call.input, ['command', 'timeout_seconds', 'background']);
          const command = text('run_command', fields, 'command', { maxBytes: MAX_COMMAND_BYTES });
          if (command.includes('\0')) throw new ToolInputError('run_command: the command contains a NUL byte');
          const timeoutSeconds = integer('run_command', fields, 'timeout_seconds', { min: 1, max: maxTimeoutSeconds }) ?? Math.min(DEFAULT_COMMAND_TIMEOUT_SECONDS, maxTimeoutSeconds);
          const background = boolean('run_command', fields, 'background') ?? false;
          if (background && !deps.processes.managed) {
            return failed('run_command: this sandbox cannot keep background processes yet; run the command in the foreground with a timeout_seconds, or end it by itself.');
          }
          const previous = journal.previous;
          let info: ProcessInfo;
          if (typeof previous?.processId === 'string') {
            // Started by an earlier attempt of this call: follow that process, never start a second.
            info = await deps.processes.get(ctx.principal, ctx.projectId, previous.processId);
          } else if (previous) {
            return failed(
              'run_command: this command was started by an earlier attempt that was interrupted before its process was recorded; ' +
                'it may or may not have run. Check its effects (files, running processes) before running it again.',
            );
          } else {
            await journal.intend({ starting: true });
            const timeoutMs = background ? deps.maxCommandTimeoutMs : timeoutSeconds * 1000;
            const beat = setInterval(() => ctx.heartbeat(), WAIT_SLICE_MS);
            try {
              info = await deps.processes.start(ctx.principal, ctx.projectId, { command, timeoutMs }, `run:${ctx.runId}`);
            } finally {
              clearInterval(beat);
            }
            await journal.intend({ processId: info.id });
          }
          const waitMs = background ? BACKGROUND_SETTLE_MS : timeoutSeconds * 1000;
          info = await waitFor(deps, ctx, info, waitMs);
          return describe(info, await outputOf(deps, ctx, info.id), background ? undefined : timeoutSeconds);
        } catch (err) {
          return errorResult(err, 'run_command failed');
        }
      }),
  };

  const processOutput: ToolSpec = {
    definition: {
      name: 'process_output',
      inputSchema: {
        type: 'object',
        properties: { process_id: { type: 'string', description: 'The id run_command gave.' } },
        required: ['process_id'],
        additionalProperties: false,
      },
    },
    async run(call, ctx) {
      try {
        const id = processId('process_output', call.input);
        const info = await deps.processes.get(ctx.principal, ctx.projectId, id);
        return describe(info, await outputOf(deps, ctx, id));
      } catch (err) {
        return errorResult(err, 'process_output failed');
      }
    },
  };

  const stopProcess: ToolSpec = {
    definition: {
      name: 'stop_process',
      inputSchema: {
        type: 'object',
        properties: { process_id: { type: 'string', description: 'The id run_command gave.' } },
        required: ['process_id'],
        additionalProperties: false,
      },
    },
    async run(call, ctx) {
      try {
        const id = processId('stop_process', call.input);
        const info = await deps.processes.stop(ctx.principal, ctx.projectId, id);
        const output = await outputOf(deps, ctx, id);
        const result = describe(info, output);
        return { ...result, isError: false, content: `Stopped process ${id}. ${result.content}` };
      } catch (err) {
        return errorResult(err, 'stop_process failed');
      }
    },
  };

  return [runCommand, processOutput, stopProcess];
}
