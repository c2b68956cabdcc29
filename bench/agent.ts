/**
 * `npm run bench:agent`: what agent runs cost on top of the model and the tools, through the real API, a real
 * Temporal dev server, an in-process worker and the scripted fake model (answering at once), on a node sandbox.
 * Prints (a benchmark prints figures, it never asserts):
 * 1. orchestration overhead per step (a step's wall time minus the model's and the tool's time), p50/p95 over the
 *    30 tool steps of one run; goal p50 <= 40 ms;
 * 2. time from `POST /runs` to the first `text.delta` on the WebSocket, p50/p95 over 20 runs; goal p50 <= 150 ms;
 * 3. 20 concurrent runs of 5 steps on one worker: runs/min and the p95 step latency;
 * 4. cancel during streaming: `POST /cancel` to the `cancelled` status on the WebSocket, p50/max over 10 runs;
 *    goal within 1 s.
 * Starts a private PostgreSQL (fsync off) and Temporal dev server; needs the node sandbox image
 * (`npm run images:build`). Removes the sandbox it made.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import WebSocket from 'ws';
import { freePort, startTemporal, stopAll } from '../infra/lib/components.mjs';
import { ensureTemporalCli } from '../infra/lib/prereqs.mjs';
import { sandboxImageName } from '../sandbox-images/names.js';
import { startFakeModelServer, type FakeTurn, type RecordedRequest } from '../services/agents/fake-model/index.js';
import { createRunEngine } from '../services/gateway/index.js';
import { createWorker } from '../workflows/worker.js';
import { startApiStack } from './lib/api-stack.js';

const OVERHEAD_STEPS = 30;
const FIRST_TOKEN_RUNS = 20;
const CONCURRENT_RUNS = 20;
const CONCURRENT_STEPS = 5;
const CANCEL_RUNS = 10;
/** Files the trivial tool reads in turn: three, so that no two neighbouring steps repeat (stuck detection). */
const FILES = ['bench-0.txt', 'bench-1.txt', 'bench-2.txt'];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const ms = (value: number) => `${value.toFixed(1)} ms`.padStart(9);

interface Timed {
  runId: string;
  step: number;
  /** Date.now() at the start, to line it up with the events' `at`; durations from performance.now(). */
  startedAt: number;
  endedAt: number;
  ms: number;
  /** When Temporal scheduled the activity this ran in (its server's clock, the same machine's). */
  scheduledAt: number;
}

interface BenchEvent {
  seq: number;
  type: string;
  at: string;
  data: any; // figures only; shapes are checked by the tests
}

/**
 * The fake model's answer, from the run's goal alone (so that any number of runs can share one script):
 * `tools N`: N turns each reading a small file, then an end turn; `text`: one short answer; `stream`: a long
 * answer streamed slowly (to be cancelled).
 */
function answer(request: RecordedRequest): FakeTurn {
  const messages: Array<{ role: string; content: unknown }> = request.body.messages ?? [];
  const first = messages[0]?.content;
  const goal = typeof first === 'string' ? first : ((first as Array<{ text?: string }>)?.find((block) => block.text)?.text ?? '');
  const done = messages.filter((message) => message.role === 'assistant').length;
  const tools = /^bench tools (\d+)/.exec(goal);
  if (tools) {
    if (done >= Number(tools[1])) return { kind: 'reply', text: 'All files read.' };
    return {
      kind: 'reply',
      text: `Reading file ${done + 1}.`,
      toolCalls: [{ name: 'read_file', input: { path: FILES[done % FILES.length] } }],
    };
  }
  if (goal.startsWith('bench stream')) {
    return { kind: 'reply', text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), chunkDelayMs: 20 };
  }
  return { kind: 'reply', text: 'Hello from the fake model.' };
}

/** A WebSocket that subscribes to runs and notes when each of their events arrived (performance.now()). */
class RunSocket {
  private readonly waiters: Array<{ match: (runId: string, event: BenchEvent) => boolean; resolve: (at: number) => void }> = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const now = performance.now();
      const message = JSON.parse(raw.toString()) as { type: string; runId?: string; event?: BenchEvent };
      if (message.type !== 'run.event' || !message.runId || !message.event) return;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const waiter = this.waiters[i]!;
        if (!waiter.match(message.runId, message.event)) continue;
        this.waiters.splice(i, 1);
        waiter.resolve(now);
      }
    });
  }

  static open(url: string): Promise<RunSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new RunSocket(socket)));
      socket.once('error', reject);
    });
  }

  subscribe(projectId: string, runId: string): void {
    this.socket.send(JSON.stringify({ type: 'run.subscribe', projectId, runId, after: 0 }));
  }

  unsubscribe(runId: string): void {
    this.socket.send(JSON.stringify({ type: 'run.unsubscribe', runId }));
  }

  /** When the first event of `runId` matching arrives (register before it can arrive). */
  when(runId: string, match: (event: BenchEvent) => boolean, timeoutMs = 30_000): Promise<number> {
    const arrival = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`run ${runId}: no such event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match: (id, event) => id === runId && match(event),
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
    // Awaited later, or not at all once an earlier wait failed: never an unhandled rejection that skips the clean-up.
    arrival.catch(() => {});
    return arrival;
  }

  close(): void {
    this.socket.close();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-bench-agent-'));
  chmodSync(dir, 0o755);
  const temporal = await startTemporal({ bin: ensureTemporalCli(), port: await freePort(), logFile: path.join(dir, 'temporal.log') });
  const fake = await startFakeModelServer({ scripts: { default: { turns: [], otherwise: answer } } });
  const errors: unknown[] = [];
  const onError = (err: unknown) => errors.push(err);
  const stack = await startApiStack(
    'agent',
    {
      DB_POOL_MAX: '20',
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `bench-agent-${randomUUID()}`,
      LLM_PROVIDER: 'anthropic',
      LLM_MODEL: 'fake-model-1',
      ANTHROPIC_API_KEY: 'default',
      ANTHROPIC_BASE_URL: fake.url,
    },
    onError,
  );
  const { config, infra, services } = stack;
  const image = sandboxImageName('node');
  if (!(await infra.docker.getImage(image).inspect().then(() => true, () => false))) {
    throw new Error(`The sandbox image ${image} is missing: build it with \`npm run images:build\``);
  }
  const origin = stack.origin.replace('http://', '');
  const base = stack.base;

  // The model's and the tools' own time, as the engine sees them (the SDK's request to the fake server included).
  const modelTimes: Timed[] = [];
  const toolTimes: Timed[] = [];
  const engine = createRunEngine(infra, services, onError, {
    wrapProvider: (provider) => ({
      name: provider.name,
      modelInfo: (model) => provider.modelInfo(model),
      async stream(request, handlers) {
        const { info } = Context.current();
        const runId = info.workflowExecution?.workflowId ?? '';
        const startedAt = Date.now();
        const started = performance.now();
        try {
          return await provider.stream(request, handlers);
        } finally {
          const scheduledAt = info.currentAttemptScheduledTimestampMs;
          modelTimes.push({ runId, step: 0, startedAt, endedAt: Date.now(), ms: performance.now() - started, scheduledAt });
        }
      },
    }),
    wrapToolbox: (toolbox) => ({
      definitions: () => toolbox.definitions(),
      approval: (call, policy) => toolbox.approval(call, policy),
      async execute(call, ctx) {
        const scheduledAt = Context.current().info.currentAttemptScheduledTimestampMs;
        const startedAt = Date.now();
        const started = performance.now();
        try {
          return await toolbox.execute(call, ctx);
        } finally {
          toolTimes.push({ runId: ctx.runId, step: ctx.step, startedAt, endedAt: Date.now(), ms: performance.now() - started, scheduledAt });
        }
      },
    }),
  });
  // The worker's own logs (bundling, state changes, late completions of cancelled turns) would drown the figures.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker({ connection, temporal: config.temporal, deps: { engine }, worker: { shutdownGraceTime: '1 second' } });
  const working = worker.run();

  let projectId: string | undefined;
  let socket: RunSocket | undefined;
  try {
    const call = async (method: string, url: string, body?: unknown, token?: string, raw?: string) => {
      const response = await fetch(base + url, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(raw !== undefined ? { 'content-type': 'application/octet-stream' } : body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
      });
      const text = await response.text();
      if (response.status >= 400) throw new Error(`${method} ${url}: ${response.status} ${text}`);
      return text ? (JSON.parse(text) as any) : undefined; // figures only; shapes checked by tests
    };
    const session = await call('POST', '/auth/register', { email: `bench-${Date.now()}@example.test`, password: 'bench password' });
    const token: string = session.accessToken;
    projectId = (await call('POST', '/projects', { name: 'bench agent', stack: 'node' }, token)).id as string;
    const runs = `/projects/${projectId}/runs`;
    for (const [index, file] of FILES.entries()) {
      await call('PUT', `/projects/${projectId}/files/content?path=${file}`, undefined, token, `file ${index}: a small file\n`);
    }
    socket = await RunSocket.open(`ws://${origin}/api/v1/ws?token=${token}`);
    const ws = socket;
    const events = async (runId: string): Promise<BenchEvent[]> => (await call('GET', `${runs}/${runId}/events?after=0`, undefined, token)).events;
    // A connection may follow at most 50 runs at a time: each is let go once it ended.
    const finished = (runId: string) =>
      ws
        .when(runId, (event) => event.type === 'run.status' && ['completed', 'failed', 'needs_input', 'cancelled'].includes(event.data.status), 120_000)
        .finally(() => ws.unsubscribe(runId));
    const startRun = async (message: string) => (await call('POST', runs, { message, maxSteps: 100 }, token)).id as string;

    /** Wall time of each step of a run: from its step.started to the next step's (the tool steps only). */
    const stepCycles = (list: BenchEvent[]) => {
      const started = list.filter((event) => event.type === 'step.started').map((event) => ({ step: event.data.step as number, at: Date.parse(event.at) }));
      return started.slice(0, -1).map((entry, i) => ({ step: entry.step, from: entry.at, to: started[i + 1]!.at, ms: started[i + 1]!.at - entry.at }));
    };
    const expectStatus = async (runId: string, status: string) => {
      const run = await call('GET', `${runs}/${runId}`, undefined, token);
      if (run.status !== status) throw new Error(`run ${runId} ended ${run.status} (${run.reason ?? ''}), not ${status}`);
    };

    const line = (name: string, values: number[], extra = '') =>
      console.log(`  ${name.padEnd(46)} p50 ${ms(percentile(values, 50))}   p95 ${ms(percentile(values, 95))}${extra}`);
    const verdict = (value: number, goal: number) => `   goal p50 <= ${goal} ms: ${value <= goal ? 'met' : 'MISSED'}`;
    const load = () => os.loadavg()[0]!.toFixed(1);
    console.log(`\nbench/agent on ${os.cpus().length} cores (load average ${load()}); API, worker, fake model and client in one Node process; node sandbox`);

    /**
     * Each tool step of the runs: its wall time (step.started to the next step.started), the model's and the
     * tool's time in it (timed in the worker), the rest (overhead), and where that rest goes.
     */
    const analyse = async (runIds: string[]) => {
      const parts = {
        wall: [] as number[],
        model: [] as number[],
        tool: [] as number[],
        overhead: [] as number[],
        segments: {
          'step.started -> model call starts': [],
          'model call ends -> tool.call event': [],
          'tool.call -> tool activity scheduled': [],
          'tool activity scheduled -> tool starts': [],
          'tool ends -> tool.result event': [],
          'tool.result -> step.completed': [],
          'step.completed -> next step.started': [],
          '  of which: next turn activity scheduled -> step.started': [],
        } as Record<string, number[]>,
      };
      for (const runId of runIds) {
        const list = await events(runId);
        const runModels = modelTimes.filter((entry) => entry.runId === runId);
        const runTools = toolTimes.filter((entry) => entry.runId === runId);
        const at = (type: string, step: number) => Date.parse(list.find((event) => event.type === type && event.data.step === step)!.at);
        for (const cycle of stepCycles(list)) {
          const model = runModels.filter((entry) => entry.startedAt >= cycle.from - 1 && entry.startedAt < cycle.to);
          const tool = runTools.filter((entry) => entry.step === cycle.step);
          const modelMs = sum(model.map((entry) => entry.ms));
          const toolMs = sum(tool.map((entry) => entry.ms));
          parts.wall.push(cycle.ms);
          parts.model.push(modelMs);
          parts.tool.push(toolMs);
          parts.overhead.push(cycle.ms - modelMs - toolMs);
          if (model.length !== 1 || tool.length !== 1) continue;
          const segment = (name: string, value: number) => parts.segments[name]!.push(value);
          segment('step.started -> model call starts', model[0]!.startedAt - cycle.from);
          segment('model call ends -> tool.call event', at('tool.call', cycle.step) - model[0]!.endedAt);
          segment('tool.call -> tool activity scheduled', tool[0]!.scheduledAt - at('tool.call', cycle.step));
          segment('tool activity scheduled -> tool starts', tool[0]!.startedAt - tool[0]!.scheduledAt);
          segment('tool ends -> tool.result event', at('tool.result', cycle.step) - tool[0]!.endedAt);
          segment('tool.result -> step.completed', at('step.completed', cycle.step) - at('tool.result', cycle.step));
          segment('step.completed -> next step.started', cycle.to - at('step.completed', cycle.step));
          const next = runModels.find((entry) => entry.startedAt >= cycle.to - 1);
          if (next) segment('  of which: next turn activity scheduled -> step.started', cycle.to - next.scheduledAt);
        }
      }
      return parts;
    };

    // Warm-up: the workflow bundle, the first workflow and activity tasks, the SDK client, the sandbox's exec path.
    for (let i = 0; i < 2; i++) {
      const warm = await startRun('bench tools 3');
      const end = finished(warm);
      ws.subscribe(projectId, warm);
      await end;
    }

    // 1. Orchestration overhead per step.
    const overheadRun = await startRun(`bench tools ${OVERHEAD_STEPS}`);
    const overheadEnd = finished(overheadRun);
    ws.subscribe(projectId, overheadRun);
    await overheadEnd;
    await expectStatus(overheadRun, 'completed');
    const parts = await analyse([overheadRun]);
    console.log(`\n1. Orchestration overhead per step (one run of ${OVERHEAD_STEPS} read_file steps, then an end turn)`);
    console.log('   step wall = from a step\'s step.started event to the next one\'s (the events\' `at`, PostgreSQL\'s clock);');
    console.log('   model = provider.stream() as the engine calls it (SDK request to the fake model, which answers at once);');
    console.log('   tool = toolbox.execute() of read_file (a small file in the sandbox); overhead = wall - model - tool.');
    line(`step wall (n=${parts.wall.length})`, parts.wall);
    line('model', parts.model);
    line('tool (read_file)', parts.tool);
    line('orchestration overhead', parts.overhead, verdict(percentile(parts.overhead, 50), 40));
    console.log('   where the overhead goes (per step; Date.now() in the worker against the events\' `at`):');
    for (const [name, values] of Object.entries(parts.segments)) line(`  ${name}`, values);


    // 2. POST /runs -> first text.delta on the WebSocket.
    const firstToken = { total: [] as number[], post: [] as number[], toRunning: [] as number[], toStep: [] as number[], toDelta: [] as number[], delivery: [] as number[] };
    for (let i = 0; i < FIRST_TOKEN_RUNS; i++) {
      const posted = performance.now();
      const postedAt = Date.now();
      const runId = await startRun('bench text');
      const answered = performance.now();
      const delta = ws.when(runId, (event) => event.type === 'text.delta');
      const end = finished(runId);
      ws.subscribe(projectId, runId);
      const arrived = await delta;
      await end;
      const list = await events(runId);
      const eventAt = (match: (event: BenchEvent) => boolean) => Date.parse(list.find(match)!.at);
      const running = eventAt((event) => event.type === 'run.status' && event.data.status === 'running');
      const stepStarted = eventAt((event) => event.type === 'step.started');
      const deltaAt = eventAt((event) => event.type === 'text.delta');
      firstToken.total.push(arrived - posted);
      firstToken.post.push(answered - posted);
      firstToken.toRunning.push(running - postedAt);
      firstToken.toStep.push(stepStarted - running);
      firstToken.toDelta.push(deltaAt - stepStarted);
      firstToken.delivery.push(arrived - posted - (deltaAt - postedAt));
    }

    console.log(`\n2. POST /runs -> first text.delta on the WebSocket (n=${FIRST_TOKEN_RUNS}; run.subscribe after=0 right after the POST)`);
    line('POST /runs -> first text.delta received', firstToken.total, verdict(percentile(firstToken.total, 50), 150));
    line('  POST /runs answered (run recorded, workflow started)', firstToken.post);
    line('  POST sent -> run.status running event', firstToken.toRunning);
    line('  running -> step.started', firstToken.toStep);
    line('  step.started -> text.delta event', firstToken.toDelta);
    line('  text.delta event -> received on the WebSocket', firstToken.delivery);


    // 3. Concurrent runs on one worker.
    const concurrentStarted = performance.now();
    const concurrent = await Promise.all(
      Array.from({ length: CONCURRENT_RUNS }, async () => {
        const runId = await startRun(`bench tools ${CONCURRENT_STEPS - 1}`);
        const end = finished(runId);
        ws.subscribe(projectId!, runId);
        await end;
        return runId;
      }),
    );
    const concurrentMs = performance.now() - concurrentStarted;
    let concurrentOk = 0;
    for (const runId of concurrent) {
      const run = await call('GET', `${runs}/${runId}`, undefined, token);
      if (run.status === 'completed') concurrentOk++;
    }
    const concurrentParts = await analyse(concurrent);
    console.log(`\n3. ${CONCURRENT_RUNS} concurrent runs of ${CONCURRENT_STEPS} steps (${CONCURRENT_STEPS - 1} read_file steps, then an end turn) on one worker`);
    console.log(`  ${concurrentOk}/${CONCURRENT_RUNS} completed in ${(concurrentMs / 1000).toFixed(2)} s: ${((CONCURRENT_RUNS / concurrentMs) * 60_000).toFixed(0)} runs/min`);
    line(`step latency (step.started -> next, n=${concurrentParts.wall.length})`, concurrentParts.wall);
    line('  model', concurrentParts.model);
    line('  tool (read_file)', concurrentParts.tool);
    line('  overhead (wall - model - tool)', concurrentParts.overhead);
    for (const [name, values] of Object.entries(concurrentParts.segments)) line(`    ${name}`, values);


    // 4. Cancel during streaming.
    const cancels: number[] = [];
    const failures: string[] = [];
    const cancelAcks: number[] = [];
    for (let i = 0; i < CANCEL_RUNS; i++) {
      const runId = await startRun('bench stream');
      const delta = ws.when(runId, (event) => event.type === 'text.delta');
      const cancelled = ws.when(runId, (event) => event.type === 'run.status' && event.data.status === 'cancelled');
      ws.subscribe(projectId, runId);
      const state = async () => `it is ${JSON.stringify(await call('GET', `${runs}/${runId}`, undefined, token))}; events ${JSON.stringify((await events(runId)).map((event) => [event.type, event.data.status ?? event.data.step]))}`;
      const streaming = await delta.then(
        () => true,
        async (err: Error) => {
          failures.push(`${err.message} (waiting for the first text.delta); ${await state()}`);
          return false;
        },
      );
      if (!streaming) continue;
      await new Promise((resolve) => setTimeout(resolve, 100));
      const asked = performance.now();
      await call('POST', `${runs}/${runId}/cancel`, {}, token);
      cancelAcks.push(performance.now() - asked);
      const done = await cancelled.catch(async (err: Error) => {
        failures.push(`${err.message} (waiting for cancelled); ${await state()}`);
        return undefined;
      });
      if (done !== undefined) cancels.push(done - asked);
      ws.unsubscribe(runId);
    }
    console.log(`\n4. Cancel during streaming (n=${CANCEL_RUNS}; a slow stream, cancelled 100 ms after its first text.delta)`);
    const cancelMet = Math.max(...cancels) <= 1000 ? 'met' : 'MISSED';
    console.log(
      `  POST /cancel -> run.status cancelled received    p50 ${ms(percentile(cancels, 50))}   max ${ms(Math.max(...cancels))}   goal max <= 1000 ms: ${cancelMet}`,
    );
    line('  POST /cancel answered', cancelAcks);
    for (const failure of failures) console.log(`  not measured: ${failure.slice(0, 2000)}`);

    const after = os.loadavg()[0]!;
    console.log(`\nload average at the end: ${after.toFixed(1)}`);
    if (after > os.cpus().length) {
      console.log(`  WARNING: the machine was busy (more runnable processes than cores): the figures are disturbed; run it again on a quiet machine.`);
    }
    if (errors.length > 0) {
      console.log(`\n${errors.length} background error(s); the first: ${errors[0] instanceof Error ? errors[0].stack : JSON.stringify(errors[0])}`);
    }
  } finally {
    socket?.close();
    worker.shutdown();
    await working.catch((err: unknown) => console.error(err));
    await connection.close();
    if (projectId) await services.sandboxes.destroy(projectId).catch((err: unknown) => console.error(err));
    await stack.close();
    await fake.close();
    await stopAll([temporal]);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
