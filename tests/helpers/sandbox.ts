/** Helpers for sandbox tests: a project with a sandbox, and exec through the real API. */
import { expect } from 'vitest';
import type { ApiClient, SignedIn } from './http.js';
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

/** `sh -c` in the sandbox; its stdout trimmed. Fails the test on a non-zero exit. */
export async function sh(api: ApiClient, user: SignedIn, projectId: string, script: string): Promise<string> {
  const result = await exec(api, user, projectId, script);
  expect(result.exitCode, `${script}\n${result.stderr}`).toBe(0);
  return result.stdout.trim();
}
