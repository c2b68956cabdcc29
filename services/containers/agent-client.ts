/**
 * The API's side of the in-sandbox exec agent (sandbox-images/agent/main.go): one HTTP request per command,
 * over the sandbox's own bridge network, on kept-alive connections (a new TCP connection per command would
 * cost more than the command itself). Callers fall back to docker exec when this gives up (AgentUnavailable).
 */
import http from 'node:http';
import type { ExecResult } from './exec.js';

export interface AgentExecRequest {
  argv: string[];
  cwd: string;
  env: string[];
  timeoutMs: number;
  stdin: string;
  outputLimit: number;
}

/** The agent did not answer (or refused the token): the command did not run, another way may be tried. */
export class AgentUnavailable extends Error {}

/** Right after a container starts, its agent needs a moment before it listens: retry refusals this long. */
const START_WAIT_MS = 2000;
const RETRY_SLEEP_MS = 15;
const CONNECT_TIMEOUT_MS = 1000;
/** How long past the command's own timeout (plus the agent's 2 s kill grace) an answer may take. */
const ANSWER_GRACE_MS = 10_000;

const keepAlive = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 64, maxFreeSockets: 8, scheduling: 'lifo' });

type Attempt = { ok: true; result: ExecResult } | { ok: false; retry: boolean; error: Error };

function attempt(url: string, token: string, body: string, answerTimeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Attempt) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = http.request(
      `${url}/exec`,
      {
        method: 'POST',
        agent: keepAlive,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => done({ ok: false, retry: false, error }));
        res.on('end', () => {
          clearTimeout(answerTimer);
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            done({ ok: false, retry: false, error: new Error(`the exec agent answered ${res.statusCode}: ${text.slice(0, 200)}`) });
            return;
          }
          try {
            done({ ok: true, result: JSON.parse(text) as ExecResult });
          } catch (error) {
            done({ ok: false, retry: false, error: error as Error });
          }
        });
      },
    );
    // A connection that cannot even be opened is retried (or given up on) quickly; a running command may take long.
    const answerTimer = setTimeout(() => req.destroy(new Error('the exec agent did not answer in time')), answerTimeoutMs);
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      const connectTimer = setTimeout(() => req.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(answerTimer);
      // Nothing was run when the connection was refused, or when a kept-alive connection turned out closed.
      const retry = error.code === 'ECONNREFUSED' || (req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE'));
      done({ ok: false, retry, error });
    });
    req.end(body);
  });
}

/** Runs one command through the agent; throws AgentUnavailable when it could not be reached. */
export async function agentExec(endpoint: { url: string; token: string }, request: AgentExecRequest): Promise<ExecResult> {
  const body = JSON.stringify(request);
  const answerTimeoutMs = request.timeoutMs + ANSWER_GRACE_MS;
  const giveUpAt = Date.now() + START_WAIT_MS;
  for (;;) {
    const outcome = await attempt(endpoint.url, endpoint.token, body, answerTimeoutMs);
    if (outcome.ok) return outcome.result;
    if (!outcome.retry || Date.now() >= giveUpAt) {
      throw new AgentUnavailable(`exec agent at ${endpoint.url}: ${outcome.error.message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_SLEEP_MS));
  }
}
