/**
 * The API's side of the agent's managed processes (sandbox-images/agent/processes.go). The answers come from
 * inside the sandbox, where user code runs: each is read with a size cap and checked field by field, and the
 * agent's errors become our codes (an unknown process is NOT_FOUND).
 */
import type { ProcessInfo, ProcessOutput } from '../../lib/api-types.js';
import { AppError } from '../../lib/errors.js';
import { agentJson, type AgentAnswer } from './agent-client.js';

type Endpoint = { url: string; token: string };

/** What a process id looks like (the agent makes them; the API's routes and the tools accept no other). */
export const PROCESS_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
/** The longest command accepted (as the agent's tools accept). */
export const MAX_PROCESS_COMMAND_BYTES = 16 * 1024;
/** The most output one read gives (the agent keeps the last 1 MiB of each process). */
export const MAX_OUTPUT_READ_BYTES = 1024 * 1024;
/** The longest one wait may last (the agent's own limit is longer). */
export const MAX_WAIT_MS = 60_000;

/** Answers hold at most a command, a working directory and some ports: JSON-escaped, each byte may take 6. */
const INFO_ANSWER_BYTES = 6 * (MAX_PROCESS_COMMAND_BYTES + 4096) + 64 * 1024;
/** The agent keeps at most 32 running and 64 exited processes. */
const LIST_ANSWER_BYTES = 96 * INFO_ANSWER_BYTES;
const OUTPUT_ANSWER_BYTES = 6 * MAX_OUTPUT_READ_BYTES + 64 * 1024;
const QUICK_ANSWER_MS = 10_000;
/** Past a wait's own timeout; a stop takes the agent's 2 s of grace and 2 s more at most. */
const WAIT_GRACE_MS = 10_000;
const MAX_PORTS = 1024;

function broken(what: string): AppError {
  return new AppError('UPSTREAM_UNAVAILABLE', `The sandbox's agent gave ${what}`);
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 64 && !Number.isNaN(Date.parse(value));
}

/** A process as the agent describes it, each field checked; anything else is a broken or hostile agent. */
export function parseProcessInfo(value: unknown): ProcessInfo {
  const info = value as Partial<Record<keyof ProcessInfo, unknown>> | null;
  if (
    typeof info !== 'object' || info === null ||
    typeof info.id !== 'string' || !PROCESS_ID.test(info.id) ||
    typeof info.command !== 'string' || typeof info.cwd !== 'string' ||
    (info.status !== 'running' && info.status !== 'exited') ||
    !(info.exitCode === null || Number.isInteger(info.exitCode)) ||
    !isTime(info.startedAt) ||
    !(info.exitedAt === null || isTime(info.exitedAt)) ||
    !isPortList(info.ports)
  ) {
    throw broken('a process of the wrong shape');
  }
  const { id, command, cwd, status, exitCode, startedAt, exitedAt, ports } = info as ProcessInfo;
  return { id, command, cwd, status, exitCode, startedAt, exitedAt, ports: [...ports] };
}

export function parseProcessOutput(value: unknown, limit: number): ProcessOutput {
  const out = value as Partial<Record<keyof ProcessOutput, unknown>> | null;
  if (
    typeof out !== 'object' || out === null ||
    typeof out.output !== 'string' ||
    !Number.isSafeInteger(out.from) || !Number.isSafeInteger(out.next) ||
    (out.from as number) < 0 || (out.next as number) < (out.from as number) ||
    (out.next as number) - (out.from as number) > limit ||
    typeof out.truncatedBefore !== 'boolean'
  ) {
    throw broken('output of the wrong shape');
  }
  const { output, from, next, truncatedBefore } = out as ProcessOutput;
  return { output, from, next, truncatedBefore };
}

/** The agent's answer, or its error as ours. */
function expectOk(answer: AgentAnswer, id?: string): unknown {
  if (answer.status === 200) return answer.body;
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message = typeof error?.message === 'string' ? error.message.slice(0, 512) : undefined;
  if (code === undefined) {
    // Not an answer of processes.go: an agent older than managed processes answers its mux's plain 404.
    throw new AppError(
      'SERVICE_UNAVAILABLE',
      "This sandbox's agent predates managed processes: remove the sandbox's container (the workspace is kept) to get a current one",
    );
  }
  if (code === 'PROCESS_NOT_FOUND') throw new AppError('NOT_FOUND', `No process ${id ?? ''} in this project's sandbox (it ended long ago, or the sandbox restarted)`);
  if (code === 'TOO_MANY_PROCESSES') throw new AppError('CONFLICT', message ?? 'Too many processes run at once; stop one first');
  if (answer.status === 400) throw new AppError('VALIDATION_FAILED', message ?? 'The sandbox refused the request');
  if (code === 'CANNOT_START') throw new AppError('UNPROCESSABLE', message ?? 'The command could not be started');
  throw broken(`the status ${answer.status} (${code})`);
}

function path(id: string, action = ''): string {
  if (!PROCESS_ID.test(id)) throw new AppError('NOT_FOUND', 'No such process');
  return `/processes/${id}${action}`;
}

export async function startProcess(endpoint: Endpoint, request: { command: string; cwd: string; env: string[] }): Promise<ProcessInfo> {
  const answer = await agentJson(endpoint, { method: 'POST', path: '/processes', body: request, answerTimeoutMs: QUICK_ANSWER_MS, maxAnswerBytes: INFO_ANSWER_BYTES });
  return parseProcessInfo(expectOk(answer));
}

function isPortList(value: unknown): value is number[] {
  return Array.isArray(value) && value.length <= MAX_PORTS && value.every((port) => Number.isInteger(port) && port >= 1 && port <= 65535);
}

/** The sandbox's processes (oldest first), and every TCP port anything in the sandbox listens on. */
export async function listProcesses(endpoint: Endpoint): Promise<{ processes: ProcessInfo[]; listening: number[] }> {
  const answer = await agentJson(endpoint, { method: 'GET', path: '/processes', answerTimeoutMs: QUICK_ANSWER_MS, maxAnswerBytes: LIST_ANSWER_BYTES });
  const body = expectOk(answer) as { processes?: unknown; listening?: unknown } | null;
  const list = body?.processes;
  if (!Array.isArray(list) || list.length > 96 || !isPortList(body?.listening)) throw broken('a list of the wrong shape');
  return { processes: list.map(parseProcessInfo), listening: [...body.listening] };
}

export async function getProcess(endpoint: Endpoint, id: string): Promise<ProcessInfo> {
  const answer = await agentJson(endpoint, { method: 'GET', path: path(id), answerTimeoutMs: QUICK_ANSWER_MS, maxAnswerBytes: INFO_ANSWER_BYTES });
  return parseProcessInfo(expectOk(answer, id));
}

export async function processOutput(endpoint: Endpoint, id: string, options: { after: number; limit: number }): Promise<ProcessOutput> {
  const answer = await agentJson(endpoint, {
    method: 'GET',
    path: `${path(id, '/output')}?after=${options.after}&limit=${options.limit}`,
    answerTimeoutMs: QUICK_ANSWER_MS,
    maxAnswerBytes: OUTPUT_ANSWER_BYTES,
  });
  return parseProcessOutput(expectOk(answer, id), options.limit);
}

export async function waitProcess(endpoint: Endpoint, id: string, timeoutMs: number, signal?: AbortSignal): Promise<ProcessInfo> {
  const answer = await agentJson(endpoint, {
    method: 'POST',
    path: `${path(id, '/wait')}?timeoutMs=${timeoutMs}`,
    answerTimeoutMs: timeoutMs + WAIT_GRACE_MS,
    maxAnswerBytes: INFO_ANSWER_BYTES,
    signal,
  });
  return parseProcessInfo(expectOk(answer, id));
}

export async function stopProcess(endpoint: Endpoint, id: string): Promise<ProcessInfo> {
  const answer = await agentJson(endpoint, { method: 'POST', path: path(id, '/stop'), answerTimeoutMs: QUICK_ANSWER_MS, maxAnswerBytes: INFO_ANSWER_BYTES });
  return parseProcessInfo(expectOk(answer, id));
}
