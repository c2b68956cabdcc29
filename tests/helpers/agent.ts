/**
 * Agent runs end to end for a test file: the scripted fake model server, a real API on its own Temporal task
 * queue whose providers point at the fake server, a Temporal worker (in this process, or a child process that a
 * test may kill -9), a signed-up owner and a project. The fake server's `default` script answers every run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { repoRoot } from '../../lib/config.js';
import { startFakeModelServer, type FakeModelServer, type FakeScript } from '../../services/agents/fake-model/index.js';
import type { Toolbox } from '../../services/agents/index.js';
import { createRunEngine } from '../../services/gateway/app.js';
import { createWorker } from '../../workflows/worker.js';
import { startTestApp, type TestApp } from './app.js';
import { ApiClient, signUp, type SignedIn } from './http.js';
import { createProject } from './sandbox.js';
import { buildIde } from './browser.js';
import { eventually } from './poll.js';

export interface AgentSuite {
  readonly app: TestApp;
  readonly api: ApiClient;
  readonly owner: SignedIn;
  readonly fake: FakeModelServer;
  /** The owner's project (a node sandbox), made in beforeAll. */
  readonly projectId: string;
  /** Every run is answered by this script from now on. */
  script(script: FakeScript): void;
  /** Starts a run with the owner's token; its body. */
  startRun(body: Record<string, unknown>, headers?: Record<string, string>): Promise<any>;
  /** Waits until the run's status is one of `statuses`; the run. */
  waitFor(runId: string, statuses: string[], timeoutMs?: number, projectId?: string): Promise<any>;
  /** Every event of the run, in order. */
  events(runId: string, projectId?: string): Promise<Array<{ seq: number; type: string; at: string; data: any }>>;
  /** Starts a worker in a child process (`workflows/main.ts`), stopping the in-process one; kill it with `kill()`. */
  workerProcess(): Promise<WorkerProcess>;
  /** Starts the in-process worker again (after a child process took over). */
  inProcessWorker(): Promise<void>;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** kill -9, and waits for the exit. */
  kill(): Promise<void>;
  output(): string;
}

export interface AgentSuiteOptions {
  env?: Record<string, string>;
  /** Which wire format the runs use by default. */
  provider?: 'anthropic' | 'openai';
  /** Limits for the engine (AGENT_* in the environment for a worker process). */
  toolTimeoutSeconds?: number;
  /** Changes the in-process worker's toolbox (a tool that hangs). */
  wrapToolbox?: (toolbox: Toolbox) => Toolbox;
}

export function agentSuite(label: string, options: AgentSuiteOptions = {}): AgentSuite {
  let state:
    | { app: TestApp; api: ApiClient; owner: SignedIn; fake: FakeModelServer; projectId: string; connection: NativeConnection }
    | undefined;
  let worker: { worker: Worker; running: Promise<void> } | undefined;
  const children: WorkerProcess[] = [];
  const started = () => {
    if (!state) throw new Error('agentSuite: used before its beforeAll ran');
    return state;
  };

  const stopInProcess = async () => {
    if (!worker) return;
    const current = worker;
    worker = undefined;
    current.worker.shutdown();
    await current.running;
  };

  const inProcessWorker = async () => {
    const { app, connection } = started();
    const engine = createRunEngine(app.infra, app.services, (err) => app.backgroundErrors.push(err), {
      ...(options.wrapToolbox ? { wrapToolbox: options.wrapToolbox } : {}),
    });
    const created = await createWorker({
      connection,
      temporal: app.config.temporal,
      deps: { engine },
      worker: { shutdownGraceTime: '1 second' },
    });
    worker = { worker: created, running: created.run() };
  };

  beforeAll(async () => {
    const fake = await startFakeModelServer();
    const app = await startTestApp({
      env: {
        TEMPORAL_TASK_QUEUE: `agents-${label}-${randomUUID()}`,
        LLM_PROVIDER: options.provider ?? 'anthropic',
        LLM_MODEL: 'fake-model-1',
        ANTHROPIC_API_KEY: 'default',
        ANTHROPIC_BASE_URL: fake.url,
        OPENAI_API_KEY: 'default',
        OPENAI_BASE_URL: fake.openaiBaseUrl,
        ...(options.toolTimeoutSeconds ? { AGENT_TOOL_TIMEOUT_SECONDS: String(options.toolTimeoutSeconds) } : {}),
        ...options.env,
      },
    });
    const api = new ApiClient(app.baseUrl);
    const owner = await signUp(api, label);
    const projectId = await createProject(api, owner, 'node');
    const connection = await NativeConnection.connect({ address: app.config.temporal.address });
    state = { app, api, owner, fake, projectId, connection };
    await inProcessWorker();
  });

  afterAll(async () => {
    for (const child of children) await child.kill().catch(() => {});
    await stopInProcess();
    if (!state) return;
    await state.connection.close();
    await state.app.services.sandboxes.destroy(state.projectId).catch(() => {});
    await state.fake.close();
    await state.app.close();
  });

  return {
    get app() {
      return started().app;
    },
    get api() {
      return started().api;
    },
    get owner() {
      return started().owner;
    },
    get fake() {
      return started().fake;
    },
    get projectId() {
      return started().projectId;
    },
    script(script) {
      started().fake.setScript('default', script);
    },
    async startRun(body, headers = {}) {
      const { api, owner, projectId } = started();
      const response = await api.request('POST', `/api/v1/projects/${projectId}/runs`, { token: owner.accessToken, body, headers });
      if (response.status !== 201 && response.status !== 200) throw new Error(`POST /runs: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body;
    },
    async waitFor(runId, statuses, timeoutMs = 60_000, projectId = started().projectId) {
      const { api, owner } = started();
      let run: any;
      await eventually(
        async () => {
          run = (await api.request('GET', `/api/v1/projects/${projectId}/runs/${runId}`, { token: owner.accessToken })).body;
          return statuses.includes(run.status);
        },
        `run ${runId} to be ${statuses.join(' or ')}`,
        timeoutMs,
        50,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; it is ${JSON.stringify(run)}`);
      });
      return run;
    },
    async events(runId, projectId = started().projectId) {
      const { api, owner } = started();
      const all: any[] = [];
      for (;;) {
        const after = all.at(-1)?.seq ?? 0;
        const response = await api.request('GET', `/api/v1/projects/${projectId}/runs/${runId}/events?after=${after}`, { token: owner.accessToken });
        if (response.status !== 200) throw new Error(`GET events: ${response.status} ${JSON.stringify(response.body)}`);
        all.push(...response.body.events);
        if (response.body.events.length < 1000) return all;
      }
    },
    async workerProcess() {
      await stopInProcess();
      const { app } = started();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'workflows', 'main.ts')], {
        cwd: repoRoot,
        env: { ...process.env, ...app.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const handle: WorkerProcess = {
        child,
        output: () => output,
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
      children.push(handle);
      return handle;
    },
    inProcessWorker,
  };
}

/** An agent suite whose app serves a freshly built IDE (browser tests of the chat), built before the app starts. */
export function agentIdeSuite(label: string): AgentSuite {
  const env: Record<string, string> = {};
  let ide: Awaited<ReturnType<typeof buildIde>> | undefined;
  beforeAll(async () => {
    ide = await buildIde();
    env.IDE_DIST_DIR = ide.distDir;
  }, 180_000);
  afterAll(async () => {
    await ide?.remove();
  });
  return agentSuite(label, { env });
}
