/** A generated app run in its project's sandbox as a managed process, and called with curl from inside the sandbox. */
import { expect } from 'vitest';
import type { ProcessInfo } from '../../lib/api-types.js';
import { eventually } from './poll.js';
import { exec, startProcess, type SandboxSuite } from './sandbox.js';

export const APP_PORT = 3000;

const processes = (id: string) => `/api/v1/projects/${id}/processes`;

/** Starts `command` as a managed process and waits until it listens on APP_PORT; its id and output so far. */
export async function startApp(suite: SandboxSuite, id: string, command: string): Promise<{ pid: string; output: string }> {
  const auth = { token: suite.owner.accessToken };
  const pid = await startProcess(suite.api, suite.owner, id, command);
  let info: ProcessInfo | undefined;
  await eventually(
    async () => {
      info = (await suite.api.get(`${processes(id)}/${pid}`, auth)).body;
      return info!.ports.includes(APP_PORT) || info!.status !== 'running';
    },
    'the app listening',
    60_000,
    200,
  );
  const output = (await suite.api.get(`${processes(id)}/${pid}/output`, auth)).body.output as string;
  expect(info!.status, output).toBe('running');
  return { pid, output };
}

/** Generates the project's code from its IR through the API (its stack's generator unless the body names one); the report. */
export async function generateCode(suite: SandboxSuite, id: string, body: Record<string, unknown> = {}): Promise<{ generator: string; written: string[] }> {
  const generated = await suite.api.post(`/api/v1/projects/${id}/generate`, { token: suite.owner.accessToken, body });
  expect(generated.status, generated.text).toBe(200);
  return generated.body;
}

export async function stopApp(suite: SandboxSuite, id: string, pid: string): Promise<void> {
  const auth = { token: suite.owner.accessToken };
  const stopped = await suite.api.post(`${processes(id)}/${pid}/stop`, auth);
  expect(stopped.status, stopped.text).toBe(200);
  await eventually(async () => (await suite.api.get(`${processes(id)}/${pid}`, auth)).body.status !== 'running', 'the app stopped');
}

export interface AppAnswer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: any;
}

/** An HTTP request to the app from inside the sandbox: its status, headers and JSON body. */
export async function callApp(
  suite: SandboxSuite,
  id: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<AppAnswer> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const options = [
    ...(body === undefined ? [] : [`-H 'content-type: application/json' --data-binary @-`]),
    ...Object.entries(headers).map(([name, value]) => `-H ${quote(`${name}: ${value}`)}`),
  ].join(' ');
  // Headers, a marker line, then the body, then the status on the last line.
  const script = `h=$(mktemp); b=$(mktemp); code=$(curl -s -D "$h" -o "$b" -w '%{http_code}' -X ${method} ${options} ${quote(`http://localhost:${APP_PORT}${path}`)}); cat "$h"; echo '--body--'; cat "$b"; echo; echo "$code"; rm -f "$h" "$b"`;
  const result = await exec(suite.api, suite.owner, id, script, body === undefined ? {} : { stdin: JSON.stringify(body) });
  expect(result.exitCode, result.stderr).toBe(0);
  const [head, rest] = result.stdout.split('--body--\n') as [string, string];
  const lines = rest.trimEnd().split('\n');
  const status = Number(lines.pop());
  const names = head.split(/\r?\n/).slice(1).flatMap((line) => {
    const at = line.indexOf(':');
    return at > 0 ? [[line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()] as const] : [];
  });
  return { status, headers: Object.fromEntries(names), body: JSON.parse(lines.join('\n')) };
}
