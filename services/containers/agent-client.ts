/**
 * The API's side of the in-sandbox exec agent (sandbox-images/agent/main.go): one HTTP request per command,
 * over the sandbox's own bridge network, on kept-alive connections (a new TCP connection per command would
 * cost more than the command itself). Callers fall back to docker exec only when the command provably did not
 * start (AgentUnavailable); any other failure is an error, so no command ever runs twice. The agent's answers
 * come from inside the sandbox: read with a size cap and checked field by field.
 */
import http from 'node:http';
import { AppError } from '../../lib/errors.js';
import type { ExecResult } from './exec.js';

export interface AgentExecRequest {
  argv: string[];
  cwd: string;
  env: string[];
  timeoutMs: number;
  stdin: string;
  outputLimit: number;
}

/** The agent could not be reached (or refused the token): the command did not run, another way may be tried. */
export class AgentUnavailable extends Error {}

/** Right after a container starts, its agent needs a moment before it listens: retry refusals this long. */
const START_WAIT_MS = 2000;
const RETRY_SLEEP_MS = 15;
const CONNECT_TIMEOUT_MS = 1000;
/** How long past the command's own timeout (plus the agent's 2 s kill grace) an answer may take. */
const ANSWER_GRACE_MS = 10_000;

const keepAlive = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 64, maxFreeSockets: 8, scheduling: 'lifo' });

/**
 * Whether a failed attempt may have started the command. Only a connection that was never made, a kept-alive
 * connection closed under us before the request was read, or a refused token prove that it did not.
 */
type Attempt<T> =
  | { ok: true; result: T }
  | { ok: false; started: false; retry: boolean; error: Error }
  | { ok: false; started: true; error: AppError };

/** The largest answer read: both outputs at their limit, every byte escaped as \u00XX, and room for the rest. */
export function answerCap(outputLimit: number): number {
  return 2 * 6 * outputLimit + 64 * 1024;
}

/** The answer's fields, each of the type the API relies on; anything else is a broken or hostile agent. */
export function parseAnswer(text: string): ExecResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw brokenAgent('an answer that is not JSON');
  }
  const answer = value as Partial<Record<keyof ExecResult, unknown>> | null;
  if (
    typeof answer !== 'object' || answer === null ||
    !Number.isInteger(answer.exitCode) ||
    typeof answer.stdout !== 'string' || typeof answer.stderr !== 'string' ||
    typeof answer.stdoutTruncated !== 'boolean' || typeof answer.stderrTruncated !== 'boolean' ||
    typeof answer.timedOut !== 'boolean' ||
    typeof answer.durationMs !== 'number' || !Number.isFinite(answer.durationMs)
  ) {
    throw brokenAgent('an answer of the wrong shape');
  }
  const { exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, timedOut, durationMs } = answer as ExecResult;
  return { exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, timedOut, durationMs };
}

function brokenAgent(what: string): AppError {
  return new AppError('UPSTREAM_UNAVAILABLE', `The sandbox's exec agent gave ${what}; the command may have run`);
}

/** The agent's answer to one request, read up to `maxAnswerBytes`: its status and text. */
interface RawAnswer {
  status: number;
  text: string;
}

interface AgentRequest {
  method: 'GET' | 'POST';
  path: string;
  body: string;
  answerTimeoutMs: number;
  maxAnswerBytes: number;
  signal?: AbortSignal | undefined;
}

function attempt(endpoint: { url: string; token: string }, request: AgentRequest): Promise<Attempt<RawAnswer>> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Attempt<RawAnswer>) => {
      if (settled) return;
      settled = true;
      clearTimeout(answerTimer);
      request.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const headers: Record<string, string | number> = { authorization: `Bearer ${endpoint.token}` };
    if (request.body !== '') Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(request.body) });
    const req = http.request(`${endpoint.url}${request.path}`, { method: request.method, agent: keepAlive, headers }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > request.maxAnswerBytes) {
          done({ ok: false, started: true, error: brokenAgent(`an answer larger than ${request.maxAnswerBytes} bytes`) });
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', () => done({ ok: false, started: true, error: brokenAgent('an answer cut short') }));
      res.on('end', () => {
        if (res.statusCode === 401) {
          done({ ok: false, started: false, retry: false, error: new Error('the exec agent refused the token') });
          return;
        }
        done({ ok: true, result: { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') } });
      });
    });
    // A connection that cannot even be opened is retried (or given up on) quickly; a running command may take long.
    const answerTimer = setTimeout(() => {
      done({ ok: false, started: true, error: new AppError('TIMEOUT', "The sandbox's exec agent did not answer in time") });
      req.destroy();
    }, request.answerTimeoutMs);
    const onAbort = () => {
      done({ ok: false, started: true, error: new AppError('SERVICE_UNAVAILABLE', 'The request to the sandbox was abandoned') });
      req.destroy();
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      const connectTimer = setTimeout(() => req.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNTIMEOUT' })), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // Nothing was run when the connection was refused or never made, or when a kept-alive connection turned out
      // closed; any other failure may come after the agent started the command.
      const refused = error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH' || error.code === 'ECONNTIMEOUT';
      const staleSocket = req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      if (refused || staleSocket) done({ ok: false, started: false, retry: true, error });
      else done({ ok: false, started: true, error: brokenAgent(`a failed connection (${error.code ?? error.message})`) });
    });
    req.end(request.body === '' ? undefined : request.body);
  });
}

/**
 * Sends one request, retrying while the agent provably did not get it (just started, or a stale connection);
 * throws AgentUnavailable when it never did, an AppError when it may have.
 */
async function send<T>(endpoint: { url: string; token: string }, request: AgentRequest, read: (answer: RawAnswer) => T): Promise<T> {
  const giveUpAt = Date.now() + START_WAIT_MS;
  for (;;) {
    const outcome = await attempt(endpoint, request);
    if (outcome.ok) return read(outcome.result);
    if (outcome.started) throw outcome.error;
    if (!outcome.retry || Date.now() >= giveUpAt || request.signal?.aborted) {
      throw new AgentUnavailable(`exec agent at ${endpoint.url}: ${outcome.error.message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_SLEEP_MS));
  }
}

/**
 * Runs one command through the agent; throws AgentUnavailable when it provably did not start (the caller may try
 * another way), an AppError when it may have.
 */
export function agentExec(endpoint: { url: string; token: string }, request: AgentExecRequest): Promise<ExecResult> {
  const body = JSON.stringify(request);
  const answerTimeoutMs = request.timeoutMs + ANSWER_GRACE_MS;
  return send(endpoint, { method: 'POST', path: '/exec', body, answerTimeoutMs, maxAnswerBytes: answerCap(request.outputLimit) }, (answer) => {
    if (answer.status !== 200) throw brokenAgent(`the status ${answer.status}`);
    return parseAnswer(answer.text);
  });
}

/** A JSON answer of the agent's other endpoints: its status and body (undefined when it is not JSON). */
export interface AgentAnswer {
  status: number;
  body: unknown;
}

/**
 * One JSON request to the agent (the managed-process endpoints): throws AgentUnavailable when the request provably
 * never reached it, an AppError when it may have; answers of any status are the caller's to read.
 */
export function agentJson(
  endpoint: { url: string; token: string },
  request: { method: 'GET' | 'POST'; path: string; body?: unknown; answerTimeoutMs: number; maxAnswerBytes: number; signal?: AbortSignal | undefined },
): Promise<AgentAnswer> {
  const body = request.body === undefined ? '' : JSON.stringify(request.body);
  return send(endpoint, { ...request, body }, ({ status, text }) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status, body: parsed };
  });
}

/** What runs in the sandbox for someone, by kind (`commands`, `terminals`, ...), as the agent counts it. */
export type AgentActivity = Record<string, number>;

const ACTIVITY_TIMEOUT_MS = 3000;
const ACTIVITY_MAX_BYTES = 4096;

/**
 * The agent's activity counts; throws AgentUnavailable when it cannot be reached, an AppError on a bad answer.
 * A terminal counts while attached, or attached or printing within `terminalIdleMs`.
 */
export function agentActivity(endpoint: { url: string; token: string }, options: { terminalIdleMs: number }): Promise<AgentActivity> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${endpoint.url}/activity?terminalIdleMs=${Math.max(0, Math.trunc(options.terminalIdleMs))}`, { agent: keepAlive, headers: { authorization: `Bearer ${endpoint.token}` } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > ACTIVITY_MAX_BYTES) {
          req.destroy();
          reject(brokenAgent(`an activity answer larger than ${ACTIVITY_MAX_BYTES} bytes`));
        } else chunks.push(chunk);
      });
      res.on('error', () => reject(brokenAgent('an activity answer cut short')));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new AgentUnavailable(`the exec agent answered ${res.statusCode} to /activity`));
        let value: unknown;
        try {
          value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return reject(brokenAgent('an activity answer that is not JSON'));
        }
        const counts = value as Record<string, unknown> | null;
        if (typeof counts !== 'object' || counts === null || Array.isArray(counts) ||
            !Object.values(counts).every((n) => Number.isInteger(n) && (n as number) >= 0)) {
          return reject(brokenAgent('an activity answer of the wrong shape'));
        }
        resolve(counts as AgentActivity);
      });
    });
    req.setTimeout(ACTIVITY_TIMEOUT_MS, () => req.destroy(new AppError('TIMEOUT', "The sandbox's exec agent did not tell its activity in time")));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof AppError) return reject(error);
      if (error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH') return reject(new AgentUnavailable(`exec agent at ${endpoint.url}: ${error.code}`));
      reject(brokenAgent(`a failed connection (${error.code ?? error.message})`));
    });
  });
}
