/**
 * `npm run bench:ide:terminal`: terminal keystroke echo through the WebSocket, against the real API and a real
 * sandbox. One keystroke is sent as `terminal.input`; the time until its echo arrives as `terminal.output` is one
 * sample (the path: WebSocket -> API -> the sandbox agent's PTY -> bash's readline -> back). Prints p50/p99/max.
 * Goal: p50 <= 5 ms, p99 <= 20 ms. Needs the sandbox images (`npm run images:build`; SANDBOX_IMAGE_TAG picks a
 * tag). Starts a private PostgreSQL; removes the sandbox it made.
 */
import WebSocket from 'ws';
import { startApiStack } from '../lib/api-stack.js';

const WARMUP = 50;
const SAMPLES = 1000;
/** Keystrokes per line before the line is cleared (Ctrl-U, not timed), so readline never wraps. */
const LINE = 40;

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

    const samples: number[] = [];
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      if (i % LINE === 0 && i > 0) {
        // Ctrl-U clears the line; its redraw is waited for but not timed.
        const cleared = next((m) => m.type === 'terminal.output' && m.terminalId === terminalId);
        ws.send(JSON.stringify({ type: 'terminal.input', terminalId, data: '\u0015' }));
        await cleared;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const key = String.fromCharCode(97 + (i % 26));
      const echoed = next(output(key));
      const started = performance.now();
      ws.send(JSON.stringify({ type: 'terminal.input', terminalId, data: key }));
      await echoed;
      if (i >= WARMUP) samples.push(performance.now() - started);
    }
    ws.send(JSON.stringify({ type: 'terminal.close', terminalId, projectId }));

    const p50 = percentile(samples, 50);
    const p99 = percentile(samples, 99);
    const max = Math.max(...samples);
    console.log(`terminal keystroke echo through the WebSocket, ${SAMPLES} keystrokes (image tag ${config.images.tag})`);
    console.log(`  p50 ${p50.toFixed(2)} ms   p90 ${percentile(samples, 90).toFixed(2)} ms   p99 ${p99.toFixed(2)} ms   max ${max.toFixed(2)} ms`);
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
