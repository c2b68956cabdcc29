/**
 * The scripted fake model server: `POST /v1/messages` (Anthropic) and `POST /v1/chat/completions` or
 * `/chat/completions` (OpenAI), answered from scripts chosen per request, every request recorded. The real SDK
 * clients talk to it through their base URL, so tests exercise the same code paths as production.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { estimateTokens, resolveReply } from './reply.js';
import type { FakeReply, FakeScript, FakeTurn, RecordedRequest } from './script.js';
import type { Wire, WireBody } from './wire.js';
import { anthropicWire } from './wire-anthropic.js';
import { openaiWire } from './wire-openai.js';

const BODY_LIMIT_BYTES = 64 * 1024 * 1024;

const ROUTES: Record<string, Wire> = {
  '/v1/messages': anthropicWire,
  '/v1/chat/completions': openaiWire,
  '/chat/completions': openaiWire,
};

export interface FakeModelServer {
  /** `http://127.0.0.1:<port>`: the Anthropic SDK's `baseURL`. */
  url: string;
  /** `<url>/v1`: the OpenAI SDK's `baseURL`. */
  openaiBaseUrl: string;
  /** Serves `script` to requests whose `x-fake-script` header or API key is `key` (`default`: any other). */
  setScript(key: string, script: FakeScript): void;
  /** Requests received, in order of arrival; only those a script named `key` answered, when given. */
  requests(key?: string): RecordedRequest[];
  /** Turns of a script not yet used. */
  remainingTurns(key: string): number;
  close(): Promise<void>;
}

export interface FakeModelOptions {
  scripts?: Record<string, FakeScript>;
  host?: string;
  /** 0 (the default): a free port. */
  port?: number;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The key that picks a script: a header, else the API key as either SDK sends it. */
function scriptKey(req: IncomingMessage): string {
  const header = req.headers['x-fake-script'];
  if (typeof header === 'string' && header !== '') return header;
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  return /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? 'default';
}

/** Writes frames one at a time, each flushed before the next, then ends, cuts or leaves the stream hanging. */
async function stream(res: ServerResponse, frames: string[], delayMs: number, then: 'end' | 'cut' | 'hang'): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  for (const [index, frame] of frames.entries()) {
    if (index > 0 && delayMs > 0) await sleep(delayMs);
    if (res.destroyed) return;
    await new Promise<void>((resolve) => res.write(frame, () => resolve()));
  }
  if (then === 'end') res.end();
  if (then === 'cut') res.socket?.destroy();
}

export async function startFakeModelServer(options: FakeModelOptions = {}): Promise<FakeModelServer> {
  const scripts = new Map<string, { script: FakeScript; next: number }>();
  const recorded: RecordedRequest[] = [];
  let seq = 0;

  const setScript = (key: string, script: FakeScript) => void scripts.set(key, { script, next: 0 });
  for (const [key, script] of Object.entries(options.scripts ?? {})) setScript(key, script);

  async function nextTurn(record: RecordedRequest, entry: { script: FakeScript; next: number }): Promise<FakeTurn | undefined> {
    const { turns, otherwise } = entry.script;
    let turn = otherwise;
    if (entry.next < turns.length) {
      record.turn = entry.next;
      turn = turns[entry.next++];
    }
    return typeof turn === 'function' ? turn(record) : turn;
  }

  async function answer(wire: Wire, body: WireBody, record: RecordedRequest, turn: FakeTurn, req: IncomingMessage, res: ServerResponse) {
    record.outcome = turn.kind;
    const model = String(body.model ?? 'fake-model');
    const resolve = (reply: FakeReply | undefined) => resolveReply(reply ?? {}, wire.api, { model, estimatedTokens: record.estimatedTokens });
    switch (turn.kind) {
      case 'error':
        return sendJson(res, turn.status, turn.body ?? wire.error(turn.status, turn.errorType, turn.message), turn.headers);
      case 'reply': {
        const reply = resolve(turn);
        if (!record.stream) return sendJson(res, 200, wire.json(reply));
        return stream(res, wire.streamFrames(reply, body), reply.chunkDelayMs, 'end');
      }
      case 'stream_error': {
        if (!record.stream) return sendJson(res, 500, wire.error(500, turn.errorType, turn.message));
        const reply = resolve(turn.reply);
        const frames = wire.streamFrames(reply, body).slice(0, turn.afterEvents);
        return stream(res, [...frames, wire.streamErrorFrame(turn.errorType, turn.message)], reply.chunkDelayMs, 'end');
      }
      case 'disconnect': {
        if (!record.stream || turn.afterEvents === 0) return void req.socket.destroy();
        const reply = resolve(turn.reply);
        return stream(res, wire.streamFrames(reply, body).slice(0, turn.afterEvents), reply.chunkDelayMs, 'cut');
      }
      case 'hang': {
        if (!record.stream || turn.afterEvents === undefined) return;
        const reply = resolve(turn.reply);
        return stream(res, wire.streamFrames(reply, body).slice(0, turn.afterEvents), reply.chunkDelayMs, 'hang');
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const wire = ROUTES[path];
    if (req.method !== 'POST' || !wire) {
      const message = `fake model: no route ${req.method} ${path}`;
      return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message } });
    }
    const text = await readBody(req);
    if (text === undefined) return sendJson(res, 413, wire.error(413, undefined, 'fake model: request body too large'));
    let body: WireBody;
    try {
      body = JSON.parse(text) as WireBody;
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
    } catch {
      return sendJson(res, 400, wire.error(400, undefined, 'fake model: the body is not a JSON object'));
    }
    const key = scriptKey(req);
    const name = scripts.has(key) ? key : 'default';
    const entry = scripts.get(name);
    const record: RecordedRequest = {
      seq: ++seq,
      script: entry ? name : key,
      api: wire.api,
      path,
      headers: req.headers,
      body,
      stream: wire.streamRequested(body),
      turn: undefined,
      outcome: 'no_script',
      estimatedTokens: estimateTokens(wire.prompt(body)),
      ...wire.lastUserTurn(body),
    };
    recorded.push(record);
    if (!entry) return sendJson(res, 401, wire.error(401, undefined, `fake model: no script for "${key}", and no default script`));
    const limit = entry.script.contextWindowTokens;
    if (limit !== undefined && record.estimatedTokens > limit) {
      record.outcome = 'context_overflow';
      const overflow = wire.contextOverflow(record.estimatedTokens, limit);
      return sendJson(res, overflow.status, overflow.body);
    }
    let turn: FakeTurn | undefined;
    try {
      turn = await nextTurn(record, entry);
    } catch (err) {
      record.outcome = 'bad_request';
      return sendJson(res, 400, wire.error(400, undefined, `fake model: the script's function failed: ${(err as Error).message}`));
    }
    if (!turn) {
      record.outcome = 'script_exhausted';
      const message = `fake model: script "${name}" has no turn left (it had ${entry.script.turns.length})`;
      return sendJson(res, 400, wire.error(400, undefined, message));
    }
    await answer(wire, body, record, turn, req, res);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `fake model failed: ${(err as Error).message}` } });
      else res.destroy();
    });
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    setScript,
    requests: (key) => recorded.filter((r) => key === undefined || r.script === key),
    remainingTurns: (key) => {
      const entry = scripts.get(key);
      return entry ? entry.script.turns.length - entry.next : 0;
    },
    close: async () => {
      // Hanging responses hold their connections open: close them too.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
