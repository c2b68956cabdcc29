/**
 * `npm run bench:ide:terminal`: terminal keystroke echo through the WebSocket, against the real API and a real
 * sandbox. One keystroke is sent as `terminal.input`; the time until its echo arrives as `terminal.output` is one
 * sample (the path: WebSocket -> API -> the sandbox agent's PTY -> bash's readline -> back). Prints p50/p90/p99/max,
 * and the same straight to the sandbox's agent (what the API adds is the difference).
 * Goal: p50 <= 5 ms, p99 <= 20 ms. Needs the sandbox images (`npm run images:build`; SANDBOX_IMAGE_TAG picks a
 * tag). Starts a private PostgreSQL; removes the sandbox it made.
 */
import os from 'node:os';
import WebSocket from 'ws';
import { attachTerminal } from '../../services/containers/terminal-agent.js';
import { startApiStack } from '../lib/api-stack.js';

const WARMUP = 50;
const SAMPLES = 1000;
/** Keystrokes per line before the line is cleared (Ctrl-U, not timed), so readline never wraps. */
const LINE = 40;
const KEY_INTERVAL_MS = 10;

/**
 * Types WARMUP + SAMPLES keys, one at a time, each timed from its sending to its echo; returns the samples.
 * `echo(null)` waits for any output (a line's redraw).
 */
async function typeKeys(send: (data: string) => void, echo: (text: string | null) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    if (i % LINE === 0 && i > 0) {
      // Ctrl-U clears the line; its redraw is waited for but not timed.
      const cleared = echo(null);
      send('\u0015');
      await cleared;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Keys at a steady pace well beyond any typist's (100 a second): the echo's latency, not the API's throughput.
    await new Promise((resolve) => setTimeout(resolve, KEY_INTERVAL_MS));
    const key = String.fromCharCode(97 + (i % 26));
    const echoed = echo(key);
    const started = performance.now();
    send(key);
    await echoed;
    if (i >= WARMUP) samples.push(performance.now() - started);
  }
  return samples;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const { config, services, port, close } = await startApiStack(
    'terminal',
    process.env.SANDBOX_IMAGE_TAG ? { SANDBOX_IMAGE_TAG: process.env.SANDBOX_IMAGE_TAG } : {},
  );
  let projectId: string | undefined;
  let socket: WebSocket | undefined;

  const json = async (url: string, body: unknown, token?: string) => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (response.status >= 400) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
    return (await response.json()) as any; // figures only; shapes checked by tests
  };

  try {
    const session = await json('/auth/register', { email: `bench-${Date.now()}@example.test`, password: 'bench password' });
    projectId = (await json('/projects', { name: 'bench', stack: 'node' }, session.accessToken)).id as string;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws?token=${session.accessToken}`);
    socket = ws;
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    let waiter: ((message: any) => void) | null = null;
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString());
      if (message.type === 'error') console.error('error from the API:', message);
      waiter?.(message);
    });
    const next = (match: (message: any) => boolean, timeoutMs = 30_000) =>
      new Promise<any>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer in time')), timeoutMs);
        waiter = (message) => {
          if (!match(message)) return;
          clearTimeout(timer);
          waiter = null;
          resolve(message);
        };
      });

    const opened = next((m) => m.type === 'terminal.opened');
    ws.send(JSON.stringify({ type: 'terminal.open', id: 'bench', projectId, cols: 120, rows: 40 }));
    const terminalId: string = (await opened).terminalId;
    const output = (text: string) => (m: any) => m.type === 'terminal.output' && m.terminalId === terminalId && m.data.includes(text);
    // The prompt first: bash is ready.
    const ready = next(output('$ '));
    ws.send(JSON.stringify({ type: 'terminal.input', terminalId, data: '\r' }));
    await ready;

    const viaSocket = await typeKeys(
      (data) => ws.send(JSON.stringify({ type: 'terminal.input', terminalId, data })),
      (text) => next(text === null ? (m) => m.type === 'terminal.output' && m.terminalId === terminalId : output(text)),
    );

    // The same keystrokes straight to the sandbox's agent, to tell its share from the API's.
    const detached = next((m) => m.type === 'terminal.detached');
    ws.send(JSON.stringify({ type: 'terminal.detach', terminalId }));
    await detached;
    const endpoint = await services.sandboxes.agentEndpoint(projectId, 'node');
    if (!endpoint) throw new Error('the sandbox has no agent');
    let onText: ((text: string) => void) | null = null;
    const link = await attachTerminal(endpoint, terminalId, {
      onFrame: (frame) => {
        if (frame.kind === 'output') onText?.(frame.data.toString('utf8'));
      },
      onEnd: () => {},
    });
    link.start();
    const direct = await typeKeys(
      (data) => link.input(Buffer.from(data)),
      (text) =>
        new Promise<void>((resolve) => {
          onText = (data) => {
            if (text !== null && !data.includes(text)) return;
            onText = null;
            resolve();
          };
        }),
    );
    link.close();
    const closed = next((m) => m.type === 'terminal.closed');
    ws.send(JSON.stringify({ type: 'terminal.close', id: 'bench-close', terminalId, projectId }));
    await closed;

    const line = (samples: number[]) =>
      `p50 ${percentile(samples, 50).toFixed(2)} ms   p90 ${percentile(samples, 90).toFixed(2)} ms   p99 ${percentile(samples, 99).toFixed(2)} ms   max ${Math.max(...samples).toFixed(2)} ms`;
    const p50 = percentile(viaSocket, 50);
    const p99 = percentile(viaSocket, 99);
    console.log(`terminal keystroke echo, ${SAMPLES} keystrokes each, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)} (image tag ${config.images.tag})`);
    console.log(`  through the WebSocket   ${line(viaSocket)}`);
    console.log(`  the sandbox agent alone ${line(direct)}`);
    console.log(`  goal p50 <= 5 ms: ${p50 <= 5 ? 'met' : 'MISSED'}   goal p99 <= 20 ms: ${p99 <= 20 ? 'met' : 'MISSED'}`);
  } finally {
    socket?.close();
    if (projectId) await services.sandboxes.destroy(projectId).catch((err) => console.error(err));
    await close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
