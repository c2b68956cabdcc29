/**
 * The second half of `npm run bench:generate`, through the API as a user calls it, with real sandboxes:
 * - full generation of the 50-aggregate model into a project's sandbox (POST /generate, files written there;
 *   goal: at most 3 s), median of 3 fresh projects whose sandboxes are already running;
 * - one changed aggregate, generated again (goal: at most 500 ms), and how many files that wrote;
 * - the generated service's requests per second for create+get under 20 connections, inside its sandbox on the
 *   project's PostgreSQL, for each stack: the library model generated, installed and started by the stack's own
 *   commands (services/generators/stack-commands.ts), driven by bench/load (Go, built static here, copied in).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STACK_COMMANDS, type StackName } from '../services/generators/stack-commands.js';
import { model } from './lib/bench-model.js';
import { startApiStack } from './lib/api-stack.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FULL_RUNS = 3;
const PORT = 3000;
const LOAD_SECONDS = 10;

function libraryModel(stack: StackName): Record<string, string> {
  const root = path.join(here, '..', 'tests', 'fixtures', 'ir', 'library');
  const files: Record<string, string> = {};
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files[path.relative(root, full).split(path.sep).join('/')] = readFileSync(full, 'utf8');
  }
  files['ir/project.yaml'] = files['ir/project.yaml']!.replace(/runtime: \w+/, `runtime: ${stack}`);
  return files;
}

function buildLoadTool(): Buffer {
  const out = path.join(os.tmpdir(), `vaporform-bench-load-${process.pid}`);
  execFileSync(process.env.VF_GO_BIN ?? 'go', ['build', '-o', out, '.'], {
    cwd: path.join(here, 'load'),
    env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'amd64', GOTOOLCHAIN: 'local' },
    stdio: 'inherit',
  });
  return readFileSync(out);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const stack = await startApiStack('generate-api', { EXEC_MAX_TIMEOUT_SECONDS: '900' });
const projects: string[] = [];
try {
  const call = async (method: string, url: string, body?: unknown, token?: string, raw?: Buffer) => {
    const response = await fetch(stack.base + url, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(raw ? { 'content-type': 'application/octet-stream' } : body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
    });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${url}: ${response.status} ${text}`);
    return text ? (JSON.parse(text) as any) : undefined; // figures only; shapes are checked by tests
  };
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  };
  const session = await call('POST', '/auth/register', { email: `bench-gen-${Date.now()}@example.test`, password: 'bench password' });
  const token: string = session.accessToken;
  const newProject = async (kind: StackName, postgres = false) => {
    const project = await call('POST', '/projects', { name: `bench-${kind}`, stack: kind, services: { postgres } }, token);
    projects.push(project.id);
    await call('POST', `/projects/${project.id}/exec`, { command: ['true'] }, token); // the sandbox runs before timing
    return project.id as string;
  };
  const exec = async (id: string, command: string, timeoutMs = 600_000) => {
    const result = await call('POST', `/projects/${id}/exec`, { command: ['sh', '-c', command], timeoutMs }, token);
    if (result.exitCode !== 0) throw new Error(`${command}: exit ${result.exitCode}\n${result.stdout}\n${result.stderr}`);
    return result.stdout as string;
  };

  console.log(`\nbench/generate through the API: 50 aggregates in 10 contexts, written into the sandbox (typescript-http)`);
  const fullTimes: number[] = [];
  let lastProject = '';
  let fileCount = 0;
  for (let run = 0; run < FULL_RUNS; run++) {
    lastProject = await newProject('node');
    await call('POST', `/projects/${lastProject}/ir/changes`, { changes: model(10, 5) }, token);
    const { value, ms } = await timed(() => call('POST', `/projects/${lastProject}/generate`, {}, token));
    fullTimes.push(ms);
    fileCount = value.written.length;
  }
  const full = median(fullTimes);
  await call('POST', `/projects/${lastProject}/ir/changes`, { changes: model(10, 5, 'Item3x2') }, token);
  const changed = await timed(() => call('POST', `/projects/${lastProject}/generate`, {}, token));
  console.log(`  full generation:       ${full.toFixed(0)} ms median (${fullTimes.map((t) => t.toFixed(0)).join(', ')}) for ${fileCount} files (goal <= 3000 ms: ${full <= 3000 ? 'met' : 'MISSED'})`);
  console.log(
    `  one changed aggregate: ${changed.ms.toFixed(0)} ms, ${changed.value.written.length} files written (goal <= 500 ms: ${changed.ms <= 500 ? 'met' : 'MISSED'})`,
  );

  const load = buildLoadTool();
  console.log(`\nbench/generate: the library service, create+get under 20 connections for ${LOAD_SECONDS} s inside its sandbox, on the project PostgreSQL`);
  for (const kind of Object.keys(STACK_COMMANDS) as StackName[]) {
    const commands = STACK_COMMANDS[kind];
    try {
      const id = await newProject(kind, true);
      await call('POST', `/projects/${id}/ir/changes`, { changes: libraryModel(kind) }, token);
      await call('POST', `/projects/${id}/generate`, {}, token);
      await exec(id, `{ ${commands.install}; } > /tmp/install.log 2>&1 || { tail -c 4000 /tmp/install.log; exit 1; }`, 900_000);
      const started = await call('POST', `/projects/${id}/processes`, { command: `PORT=${PORT} ${commands.start}` }, token);
      const deadline = Date.now() + 300_000;
      for (;;) {
        const info = await call('GET', `/projects/${id}/processes/${started.id}`, undefined, token);
        if (info.ports.includes(PORT)) break;
        if (info.status !== 'running' || Date.now() > deadline) {
          const output = await call('GET', `/projects/${id}/processes/${started.id}/output`, undefined, token);
          throw new Error(`the app did not listen: ${output.output.slice(-2000)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await call('PUT', `/projects/${id}/files/content?path=.bench/load`, undefined, token, load);
      const body = JSON.stringify({ memberId: '00000000-0000-4000-8000-0000000000a1', isbn: '978-0-306-{n}', dueOn: '2024-03-01' });
      const out = await exec(
        id,
        `chmod +x .bench/load && .bench/load -url http://127.0.0.1:${PORT} -create /lending/loans/commands/BorrowBook -get /lending/loans/ -c 20 -d ${LOAD_SECONDS}s -body '${body}'`,
        120_000,
      );
      const figures = JSON.parse(out);
      console.log(
        `  ${commands.generator.padEnd(16)} ${figures.requestsPerSecond.toFixed(0)} requests/s (${figures.createGetPairsPerSecond.toFixed(0)} create+get pairs/s), ` +
          `p50 ${figures.p50Ms.toFixed(1)} ms, p99 ${figures.p99Ms.toFixed(1)} ms, ${figures.errors} errors${figures.firstError ? ` (first: ${figures.firstError.slice(0, 200)})` : ''}`,
      );
    } catch (err) {
      console.log(`  ${commands.generator.padEnd(16)} not measured: ${err instanceof Error ? err.message.slice(0, 1500) : String(err)}`);
    }
  }
} finally {
  for (const id of projects) await stack.services.sandboxes.destroy(id).catch((err) => console.error(err));
  await stack.close();
}
