/**
 * The API's side of the in-sandbox agent's terminals (sandbox-images/agent/terminals.go): create, list and close
 * over plain HTTP; attach over an upgraded connection that carries length-prefixed frames both ways. Everything
 * the agent sends comes from inside the sandbox: answers and frames are read with size caps and checked.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../../lib/errors.js';

export interface AgentEndpointRef {
  url: string;
  token: string;
}

export interface AgentTerminal {
  id: string;
  pid: number;
  cols: number;
  rows: number;
  startedAt: number;
  exited: boolean;
  exitCode: number;
  attached: number;
}

/** Terminal ids are the agent's 32 hex digits; anything else is refused before it reaches a URL. */
export const TERMINAL_ID = /^[0-9a-f]{32}$/;
/** The largest frame accepted from the agent: its replay (64 KiB) and output chunks (16 KiB) with room to spare. */
export const MAX_AGENT_FRAME_BYTES = 128 * 1024;
const MAX_ANSWER_BYTES = 256 * 1024;
/** The largest time a Date holds: a start time past it is not one. */
const MAX_DATE_MS = 8.64e15;
const REQUEST_TIMEOUT_MS = 10_000;
const START_WAIT_MS = 2000;

function unavailable(what: string): AppError {
  return new AppError('UPSTREAM_UNAVAILABLE', `The sandbox's agent ${what}`);
}

/** One JSON request to the agent; retries only while the connection is refused (the agent is still starting). */
async function call(endpoint: AgentEndpointRef, method: string, path: string, body?: unknown): Promise<{ status: number; value: unknown }> {
  const giveUpAt = Date.now() + START_WAIT_MS;
  for (;;) {
    try {
      return await once(endpoint, method, path, body);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ECONNREFUSED' || Date.now() >= giveUpAt) {
        throw err instanceof AppError ? err : unavailable(`could not be reached (${code ?? (err as Error).message})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function once(endpoint: AgentEndpointRef, method: string, path: string, body?: unknown): Promise<{ status: number; value: unknown }> {
  const text = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(`${endpoint.url}${path}`, {
      method,
      timeout: REQUEST_TIMEOUT_MS,
      headers: { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
    });
    req.on('timeout', () => req.destroy(unavailable('did not answer in time')));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_ANSWER_BYTES) {
          req.destroy(unavailable('gave an answer too large'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode === 401) return reject(unavailable('refused the token'));
        const raw = Buffer.concat(chunks).toString('utf8');
        let value: unknown = null;
        if (raw !== '') {
          try {
            value = JSON.parse(raw);
          } catch {
            return reject(unavailable('gave an answer that is not JSON'));
          }
        }
        resolve({ status: res.statusCode ?? 0, value });
      });
    });
    req.end(text);
  });
}

function agentCode(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string'
    ? (value as { code: string }).code
    : undefined;
}

export async function createTerminal(
  endpoint: AgentEndpointRef,
  request: { cols: number; rows: number; cwd: string; env: string[]; max: number },
): Promise<{ id: string }> {
  const { status, value } = await call(endpoint, 'POST', '/terminals', request);
  if (status === 429 && agentCode(value) === 'TERMINAL_LIMIT') {
    throw new AppError('TERMINAL_LIMIT', `A project has at most ${request.max} terminals open at once; close one first`, { max: request.max });
  }
  const id = (value as { id?: unknown } | null)?.id;
  if (status !== 201 || typeof id !== 'string' || !TERMINAL_ID.test(id)) throw unavailable(`could not start a terminal (status ${status})`);
  return { id };
}

export async function listTerminals(endpoint: AgentEndpointRef): Promise<AgentTerminal[]> {
  const { status, value } = await call(endpoint, 'GET', '/terminals');
  if (status !== 200 || !Array.isArray(value) || value.length > 256) throw unavailable('gave a terminal list of the wrong shape');
  return value.map((item: unknown) => {
    const t = item as Partial<Record<keyof AgentTerminal, unknown>> | null;
    const int = (v: unknown) => Number.isSafeInteger(v);
    if (
      typeof t !== 'object' || t === null || typeof t.id !== 'string' || !TERMINAL_ID.test(t.id) ||
      !int(t.pid) || !int(t.cols) || !int(t.rows) || !int(t.startedAt) || Math.abs(t.startedAt as number) > MAX_DATE_MS || typeof t.exited !== 'boolean' ||
      !int(t.exitCode) || !int(t.attached)
    ) {
      throw unavailable('gave a terminal list of the wrong shape');
    }
    const { id, pid, cols, rows, startedAt, exited, exitCode, attached } = t as AgentTerminal;
    return { id, pid, cols, rows, startedAt, exited, exitCode, attached };
  });
}

/** Hangs up the terminal's whole session; false when the agent knows no such terminal. */
export async function closeTerminal(endpoint: AgentEndpointRef, id: string): Promise<boolean> {
  const { status } = await call(endpoint, 'DELETE', `/terminals/${id}`);
  if (status === 404) return false;
  if (status !== 204) throw unavailable(`could not close the terminal (status ${status})`);
  return true;
}

export type AgentFrame = { kind: 'replay'; data: Buffer } | { kind: 'output'; data: Buffer } | { kind: 'exit'; exitCode: number };

/** An attached terminal: frames from the agent arrive through `onFrame`; `input` and `resize` go to it. */
export interface TerminalLink {
  readonly socket: Duplex;
  /** Starts delivering frames (the caller has set up what receives them). */
  start(): void;
  input(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** Detaches (the terminal keeps running); with an error, the link ends with it. */
  close(error?: AppError): void;
}

function frame(kind: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(kind, 0, 'latin1');
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/**
 * Splits the agent's byte stream into frames. Anything a well-behaved agent never sends (an unknown type, a frame
 * over the cap, an exit that is not 4 bytes) is an error; the frames before it are still returned.
 */
export class FrameReader {
  private buffered: Buffer[] = [];

  push(chunk: Buffer): { frames: AgentFrame[]; error?: AppError } {
    this.buffered.push(chunk);
    const frames: AgentFrame[] = [];
    let data = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    while (data.length >= 5) {
      const kind = String.fromCharCode(data[0]!);
      const size = data.readUInt32BE(1);
      if (size > MAX_AGENT_FRAME_BYTES) return { frames, error: unavailable(`sent a terminal frame of ${size} bytes`) };
      if (kind !== 'R' && kind !== 'O' && kind !== 'X') return { frames, error: unavailable('sent a terminal frame of an unknown type') };
      if (data.length < 5 + size) break;
      const payload = data.subarray(5, 5 + size);
      if (kind === 'X') {
        if (size !== 4) return { frames, error: unavailable('sent a malformed exit frame') };
        frames.push({ kind: 'exit', exitCode: payload.readInt32BE(0) });
      } else {
        frames.push(kind === 'R' ? { kind: 'replay', data: Buffer.from(payload) } : { kind: 'output', data: Buffer.from(payload) });
      }
      data = data.subarray(5 + size);
    }
    this.buffered = data.length > 0 ? [data] : [];
    return { frames };
  }
}

type AttachHandlers = { onFrame(frame: AgentFrame): void; onEnd(error?: AppError): void };

/**
 * Attaches to a terminal; resolves once the agent switched protocols. TERMINAL_NOT_FOUND when it knows no such id.
 * A refused connection (a sandbox just started: its agent is not listening yet) is retried for a moment.
 */
export async function attachTerminal(endpoint: AgentEndpointRef, id: string, handlers: AttachHandlers): Promise<TerminalLink> {
  const giveUpAt = Date.now() + START_WAIT_MS;
  for (;;) {
    try {
      return await attachOnce(endpoint, id, handlers);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ECONNREFUSED' || Date.now() >= giveUpAt) {
        throw err instanceof AppError ? err : unavailable(`could not be reached (${code ?? (err as Error).message})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function attachOnce(endpoint: AgentEndpointRef, id: string, handlers: AttachHandlers): Promise<TerminalLink> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${endpoint.url}/terminals/${id}/attach`, {
      method: 'GET',
      timeout: REQUEST_TIMEOUT_MS,
      headers: { authorization: `Bearer ${endpoint.token}`, connection: 'Upgrade', upgrade: 'vaporform-terminal' },
    });
    req.on('timeout', () => req.destroy(unavailable('did not answer in time')));
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      req.destroy();
      if (res.statusCode === 404) reject(new AppError('TERMINAL_NOT_FOUND', 'This terminal does not exist (any more)', { terminalId: id }));
      else if (res.statusCode === 429) reject(new AppError('RATE_LIMITED', 'Too many connections to this terminal at once'));
      else reject(unavailable(`refused to attach the terminal (status ${res.statusCode})`));
    });
    req.on('upgrade', (_res, socket, head) => {
      req.setTimeout(0);
      socket.setTimeout(0);
      socket.setNoDelay(true);
      const reader = new FrameReader();
      let ended = false;
      const end = (error?: AppError) => {
        if (ended) return;
        ended = true;
        socket.destroy();
        handlers.onEnd(error);
      };
      const take = (chunk: Buffer) => {
        if (ended) return;
        const { frames, error } = reader.push(chunk);
        for (const f of frames) {
          if (ended) return; // a handler ended the link over a frame: the rest are not delivered
          handlers.onFrame(f);
        }
        if (error) end(error);
      };
      socket.on('error', () => end());
      socket.on('close', () => end());
      resolve({
        socket,
        start: () => {
          if (head.length > 0) take(head);
          socket.on('data', take);
        },
        input: (data) => {
          for (let at = 0; at < data.length; at += 32 * 1024) socket.write(frame('I', data.subarray(at, at + 32 * 1024)));
        },
        resize: (cols, rows) => {
          const payload = Buffer.alloc(4);
          payload.writeUInt16BE(cols, 0);
          payload.writeUInt16BE(rows, 2);
          socket.write(frame('S', payload));
        },
        close: (error) => end(error),
      });
    });
    req.end();
  });
}
