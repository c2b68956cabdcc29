/** A generated app run as a managed process of its project's sandbox, for the tests that start, stop and restart one. */
import { expect } from 'vitest';
import type { ProcessInfo } from '../../lib/api-types.js';
import { eventually } from '../helpers/poll.js';
import { startProcess, type SandboxSuite } from '../helpers/sandbox.js';

const processes = (id: string) => `/api/v1/projects/${id}/processes`;

/** Starts `command` as a managed process and waits until it listens on `port`; its id and output so far. */
export async function startApp(suite: SandboxSuite, id: string, command: string, port: number, timeoutMs = 60_000): Promise<{ pid: string; output: string }> {
  const auth = { token: suite.owner.accessToken };
  const pid = await startProcess(suite.api, suite.owner, id, command);
  let info: ProcessInfo | undefined;
  await eventually(
    async () => {
      info = (await suite.api.get(`${processes(id)}/${pid}`, auth)).body;
      return info!.ports.includes(port) || info!.status !== 'running';
    },
    'the app listening',
    timeoutMs,
    200,
  );
  const output = (await suite.api.get(`${processes(id)}/${pid}/output`, auth)).body.output as string;
  expect(info!.status, output).toBe('running');
  return { pid, output };
}

export async function stopApp(suite: SandboxSuite, id: string, pid: string): Promise<void> {
  const auth = { token: suite.owner.accessToken };
  const stopped = await suite.api.post(`${processes(id)}/${pid}/stop`, auth);
  expect(stopped.status, stopped.text).toBe(200);
  await eventually(async () => (await suite.api.get(`${processes(id)}/${pid}`, auth)).body.status !== 'running', 'the app stopped');
}
