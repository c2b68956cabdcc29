/** Helpers for sandbox tests: a project with a sandbox, and exec through the real API. */
import { afterAll, beforeAll, expect } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from './app.js';
import { ApiClient, signUp, type SignedIn } from './http.js';
import type { ExecResult } from '../../services/containers/exec.js';

/** What POST /exec answers: the service's own result type. */
export type ExecOutcome = ExecResult;

export async function createProject(api: ApiClient, user: SignedIn, stack: 'node' | 'python' | 'go' = 'node'): Promise<string> {
  const response = await api.post('/api/v1/projects', { token: user.accessToken, body: { name: `sbx ${stack}`, stack } });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

/** Runs a command through POST /exec and expects it to be accepted. */
export async function exec(
  api: ApiClient,
  user: SignedIn,
  projectId: string,
  command: string | string[],
  extra: Record<string, unknown> = {},
): Promise<ExecOutcome> {
  const response = await api.post(`/api/v1/projects/${projectId}/exec`, {
    token: user.accessToken,
    body: { command, ...extra },
  });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** Starts a managed process (a server that outlives the call: what exec leaves behind ends with it); its id. */
export async function startProcess(api: ApiClient, user: SignedIn, projectId: string, command: string): Promise<string> {
  const response = await api.post(`/api/v1/projects/${projectId}/processes`, { token: user.accessToken, body: { command } });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

/** `sh -c` in the sandbox; its stdout trimmed. Fails the test on a non-zero exit. */
export async function sh(api: ApiClient, user: SignedIn, projectId: string, script: string): Promise<string> {
  const result = await exec(api, user, projectId, script);
  expect(result.exitCode, `${script}\n${result.stderr}`).toBe(0);
  return result.stdout.trim();
}

export interface SandboxSuite {
  /** Set once the suite's beforeAll has run. */
  readonly app: TestApp;
  readonly api: ApiClient;
  readonly owner: SignedIn;
  /** A new project of the owner's; its sandbox is removed after the suite. */
  project(stack?: 'node' | 'python' | 'go'): Promise<string>;
}

/** A test app and a signed-up owner for a file of sandbox tests, with the sandboxes it made removed afterwards. */
export function sandboxSuite(label: string, options: TestAppOptions = {}): SandboxSuite {
  const projects: string[] = [];
  let state: { app: TestApp; api: ApiClient; owner: SignedIn } | undefined;
  const started = () => {
    if (!state) throw new Error('sandboxSuite: used before its beforeAll ran');
    return state;
  };
  beforeAll(async () => {
    const app = await startTestApp(options);
    const api = new ApiClient(app.baseUrl);
    state = { app, api, owner: await signUp(api, label) };
  });
  afterAll(async () => {
    if (!state) return;
    for (const id of projects) await state.app.services.sandboxes.destroy(id).catch(() => {});
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
    async project(stack = 'node') {
      const id = await createProject(started().api, started().owner, stack);
      projects.push(id);
      return id;
    },
  };
}
