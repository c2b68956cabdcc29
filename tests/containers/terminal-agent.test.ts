/**
 * The terminal side of the sandbox agent speaks from inside the sandbox, where user code runs (and may replace
 * the agent): its answers and frames are size-capped and checked, and anything odd is an error with a code.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import {
  attachTerminal,
  createTerminal,
  FrameReader,
  listTerminals,
  MAX_AGENT_FRAME_BYTES,
  type AgentFrame,
} from '../../services/containers/terminal-agent.js';

const ID = 'ab'.repeat(16);
let server: http.Server | undefined;
/** Upgraded connections are the server's no longer: closed by hand. */
const upgradedSockets: Socket[] = [];
afterEach(async () => {
  for (const socket of upgradedSockets.splice(0)) socket.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
  server = undefined;
});

function frame(kind: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(kind, 0, 'latin1');
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** A stand-in agent: JSON answers from `answer`, attaches upgraded and handed to `upgraded`. */
async function fakeAgent(options: {
  answer?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  upgraded?: (socket: Socket) => void;
}): Promise<{ url: string; token: string }> {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => options.answer?.(req, res));
  });
  server.on('upgrade', (_req, socket: Socket) => {
    upgradedSockets.push(socket);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: vaporform-terminal\r\n\r\n');
    options.upgraded?.(socket);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't' };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).code;
  }
  throw new Error('expected a failure');
}

/** Attaches and collects frames until the link ends; resolves with them and the ending error's code. */
async function attachAndCollect(endpoint: { url: string; token: string }): Promise<{ frames: AgentFrame[]; code: string | undefined }> {
  const frames: AgentFrame[] = [];
  return new Promise((resolve, reject) => {
    attachTerminal(endpoint, ID, {
      onFrame: (f) => frames.push(f),
      onEnd: (error) => resolve({ frames, code: error?.code }),
    }).then((link) => link.start(), reject);
  });
}

describe('terminal frames', () => {
  it('splits frames across chunk boundaries', () => {
    const reader = new FrameReader();
    const exit = Buffer.alloc(4);
    exit.writeInt32BE(-1);
    const bytes = Buffer.concat([frame('R', Buffer.from('old')), frame('O', Buffer.from('héllo')), frame('X', exit)]);
    const frames: AgentFrame[] = [];
    for (let i = 0; i < bytes.length; i += 3) frames.push(...reader.push(bytes.subarray(i, i + 3)).frames);
    expect(frames).toEqual([
      { kind: 'replay', data: Buffer.from('old') },
      { kind: 'output', data: Buffer.from('héllo') },
      { kind: 'exit', exitCode: -1 },
    ]);
  });

  it('refuses a frame over the cap as soon as its header says so, an unknown type, a malformed exit', () => {
    const oversized = Buffer.alloc(5);
    oversized.write('O', 0, 'latin1');
    oversized.writeUInt32BE(MAX_AGENT_FRAME_BYTES + 1, 1);
    const before = frame('O', Buffer.from('kept'));
    const bad = [oversized, frame('Z', Buffer.from('x')), frame('X', Buffer.from('12345'))];
    for (const tail of bad) {
      const { frames, error } = new FrameReader().push(Buffer.concat([before, tail]));
      expect(frames).toEqual([{ kind: 'output', data: Buffer.from('kept') }]);
      expect(error?.code).toBe('UPSTREAM_UNAVAILABLE');
    }
  });
});

describe('terminal agent answers', () => {
  it('maps the agent’s limit to TERMINAL_LIMIT and a wrong-shaped answer to UPSTREAM_UNAVAILABLE', async () => {
    const request = { cols: 80, rows: 24, cwd: '/workspace', env: [], max: 8 };
    const limited = await fakeAgent({ answer: (_req, res) => res.writeHead(429).end(JSON.stringify({ code: 'TERMINAL_LIMIT' })) });
    expect(await codeOf(createTerminal(limited, request))).toBe('TERMINAL_LIMIT');
    await new Promise((resolve) => server!.close(resolve));

    const forged = await fakeAgent({ answer: (_req, res) => res.writeHead(201).end(JSON.stringify({ id: '../../exec' })) });
    expect(await codeOf(createTerminal(forged, request))).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('refuses a list of the wrong shape, and an answer too large', async () => {
    let body = '';
    const agent = await fakeAgent({ answer: (_req, res) => res.writeHead(200).end(body) });
    body = JSON.stringify([{ id: ID, pid: 'one' }]);
    expect(await codeOf(listTerminals(agent))).toBe('UPSTREAM_UNAVAILABLE');
    body = JSON.stringify([{ id: ID, pid: 1, cols: 80, rows: 24, startedAt: 1, exited: false, exitCode: 0, attached: 0, extra: 'x'.repeat(300_000) }]);
    expect(await codeOf(listTerminals(agent))).toBe('UPSTREAM_UNAVAILABLE');
    body = JSON.stringify([{ id: ID, pid: 1, cols: 80, rows: 24, startedAt: 9e15, exited: false, exitCode: 0, attached: 0 }]);
    expect(await codeOf(listTerminals(agent))).toBe('UPSTREAM_UNAVAILABLE');
    body = 'not json';
    expect(await codeOf(listTerminals(agent))).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('ends an attach whose agent sends an oversized or unknown frame, keeping what came before', async () => {
    const flooding = await fakeAgent({
      upgraded: (socket) => {
        socket.write(frame('R', Buffer.from('screen')));
        const header = Buffer.alloc(5);
        header.write('O', 0, 'latin1');
        header.writeUInt32BE(1 << 30, 1);
        socket.write(header);
      },
    });
    const flooded = await attachAndCollect(flooding);
    expect(flooded.frames).toEqual([{ kind: 'replay', data: Buffer.from('screen') }]);
    expect(flooded.code).toBe('UPSTREAM_UNAVAILABLE');
    for (const socket of upgradedSockets.splice(0)) socket.destroy();
    await new Promise((resolve) => server!.close(resolve));

    const garbled = await fakeAgent({ upgraded: (socket) => socket.write('HELLO WORLD') });
    expect((await attachAndCollect(garbled)).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('says TERMINAL_NOT_FOUND when the agent knows no such terminal', async () => {
    server = http.createServer((_req, res) => res.writeHead(404).end('{"code":"TERMINAL_NOT_FOUND"}'));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const endpoint = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't' };
    const attempt = attachTerminal(endpoint, ID, { onFrame: () => {}, onEnd: () => {} });
    expect(await codeOf(attempt)).toBe('TERMINAL_NOT_FOUND');
  });
});
