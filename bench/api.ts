/**
 * `npm run bench:api`: authenticated `GET /api/v1/projects/:id` under 50 concurrent connections, with
 * autocannon against 127.0.0.1. Goal (on a 2-core machine): at least 3,000 requests/s, p99 at most 25 ms.
 *
 * Starts everything it needs and removes it afterwards: a private PostgreSQL in a temp dir and the API as its
 * own process (as in production, so autocannon and the server do not share an event loop). Exits 1 when any
 * response was not a 200 or the setup failed; a missed goal is reported, not an error.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, startPostgres, stopAll, waitFor, type Started } from '../infra/lib/components.mjs';
import { ensurePostgres } from '../infra/lib/prereqs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const CONNECTIONS = 50;
const WARMUP_SECONDS = 3;
const MEASURE_SECONDS = 15;
const GOAL_REQUESTS_PER_SECOND = 3000;
const GOAL_P99_MS = 25;

/** @returns the response body parsed, after checking the status. */
async function call<T>(base: string, method: string, url: string, expected: number, body?: unknown, token?: string): Promise<T> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${method} ${url}: expected ${expected}, got ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Clock ticks per second: /proc counts CPU time in them. */
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU seconds the whole machine spent busy (all cores, anything but idle and I/O wait); Linux /proc only. */
function machineBusySeconds(): number | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const [, ...fields] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const values = fields.map(Number);
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0); // user..steal; guest is inside user
  return (total - (values[3] ?? 0) - (values[4] ?? 0)) / TICKS;
}

/** CPU seconds (user + system) of a process and, optionally, of its direct children; Linux /proc only. */
function cpuSeconds(pid: number | undefined, withChildren: boolean): number | undefined {
  if (pid === undefined || !existsSync('/proc/self/stat')) return undefined;
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may hold spaces): state, ppid, ..., utime (14th), stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const isIt = Number(entry) === pid || (withChildren && Number(fields[1]) === pid);
    if (isIt) total += (Number(fields[11]) + Number(fields[12])) / TICKS;
  }
  return total;
}

/**
 * Starts the API as its own Node process, its output to `logFile`. BENCH_API_NODE_ARGS adds Node flags to it
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under load).
 */
function startApi(env: NodeJS.ProcessEnv, logFile: string): Started {
  const out = openSync(logFile, 'a');
  const extra = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...extra, '--import', 'tsx', 'services/gateway/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', out, out],
  });
  return { name: 'api', child };
}

const pad = (text: string, width: number) => text.padEnd(width);
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const count = (value: number) => Math.round(value).toLocaleString('en-US');

async function main(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-bench-'));
  // PostgreSQL runs as the postgres user when we are root: it must be able to reach its data dir.
  chmodSync(dir, 0o755);
  const started: Started[] = [];
  const apiLog = path.join(dir, 'api.log');
  const stop = async () => {
    await stopAll(started);
    await rm(dir, { recursive: true, force: true });
  };
  // Ctrl-C must not leave a PostgreSQL and an API behind.
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));

  try {
    const [pgPort, apiPort] = await Promise.all([freePort(), freePort()]);
    const postgres = await startPostgres({
      bin: ensurePostgres(),
      dataDir: path.join(dir, 'postgres'),
      port: pgPort,
      logFile: path.join(dir, 'postgres.log'),
      database: 'vaporform',
      // Durability is not what is measured, and the measured route only reads.
      fsync: false,
    });
    started.push(postgres);

    const api = startApi(
      {
        ...process.env,
        DATABASE_URL: postgres.url,
        PORT: String(apiPort),
        HOST: '127.0.0.1',
        // At info every request writes a log line: that would measure the logger, not the route.
        LOG_LEVEL: 'warn',
        DATA_DIR: dir,
        JWT_SECRET: randomBytes(48).toString('base64url'),
        // One registration only: the password hash cost is not what is measured.
        BCRYPT_COST: '4',
      },
      apiLog,
    );
    started.push(api);
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor(
      async () => (await fetch(`${base}/health`).catch(() => undefined))?.status === 200,
      'the API /health',
      60_000,
      api.child,
    );

    const { accessToken } = await call<{ accessToken: string }>(base, 'POST', '/api/v1/auth/register', 201, {
      email: `bench-${randomBytes(4).toString('hex')}@example.com`,
      password: randomBytes(18).toString('base64url'),
      name: 'Bench',
    });
    const project = await call<{ id: string }>(base, 'POST', '/api/v1/projects', 201, { name: 'Bench', stack: 'node' }, accessToken);
    const url = `${base}/api/v1/projects/${project.id}`;
    // Fail fast on a wrong route or token rather than measuring 30,000 errors.
    await call(base, 'GET', `/api/v1/projects/${project.id}`, 200, undefined, accessToken);

    const options = { url, connections: CONNECTIONS, headers: { authorization: `Bearer ${accessToken}` } };
    // Warm-up: JIT, the pg pool filled, Postgres' caches; its figures are discarded.
    await autocannon({ ...options, duration: WARMUP_SECONDS });

    const apiCpuBefore = cpuSeconds(api.child.pid, false);
    const pgCpuBefore = cpuSeconds(postgres.child.pid, true);
    const machineBefore = machineBusySeconds();
    const selfCpuBefore = process.cpuUsage();
    const result = await autocannon({ ...options, duration: MEASURE_SECONDS });
    const selfCpu = process.cpuUsage(selfCpuBefore);
    const apiCpu = cpuSeconds(api.child.pid, false);
    const pgCpu = cpuSeconds(postgres.child.pid, true);
    const machine = machineBusySeconds();

    const statuses = Object.entries(result.statusCodeStats).map(([code, { count: n }]) => `${code}: ${count(n)}`).join(', ');
    const all200 =
      result.errors === 0 && result.timeouts === 0 && result.non2xx === 0 && Object.keys(result.statusCodeStats).every((code) => code === '200');
    const rpsMet = result.requests.average >= GOAL_REQUESTS_PER_SECOND;
    const p99Met = result.latency.p99 <= GOAL_P99_MS;
    const selfSeconds = (selfCpu.user + selfCpu.system) / 1e6;
    const percent = (seconds: number) => `${Math.round((seconds / result.duration) * 100)}%`;
    const share = (before: number | undefined, after: number | undefined) =>
      before === undefined || after === undefined ? 'n/a' : percent(after - before);
    // Whatever else ran meanwhile took cores from the benchmark: its figures are then not the server's.
    const others =
      machine === undefined || machineBefore === undefined || apiCpu === undefined || apiCpuBefore === undefined ||
      pgCpu === undefined || pgCpuBefore === undefined
        ? undefined
        : Math.max(0, machine - machineBefore - (apiCpu - apiCpuBefore) - (pgCpu - pgCpuBefore) - selfSeconds);

    const rows: [string, string, string][] = [
      ['requests/s (average)', count(result.requests.average), `>= ${count(GOAL_REQUESTS_PER_SECOND)}: ${rpsMet ? 'met' : 'MISSED'}`],
      ['latency p50', ms(result.latency.p50), ''],
      ['latency p90', ms(result.latency.p90), ''],
      ['latency p99', ms(result.latency.p99), `<= ${GOAL_P99_MS} ms: ${p99Met ? 'met' : 'MISSED'}`],
      ['latency max', ms(result.latency.max), ''],
      ['total requests', count(result.latency.totalCount), ''],
      ['non-2xx', count(result.non2xx), ''],
      ['errors (timeouts)', `${count(result.errors)} (${count(result.timeouts)})`, ''],
    ];
    const lines = [
      '',
      `bench/api: GET /api/v1/projects/:id, ${CONNECTIONS} connections, ${MEASURE_SECONDS} s after a ${WARMUP_SECONDS} s warm-up`,
      `  ${os.cpus().length} CPUs, Node ${process.version}, autocannon against 127.0.0.1; private PostgreSQL with fsync off`,
      '',
      ...rows.map(([name, value, goal]) => `  ${pad(name, 22)}${pad(value, 14)}${goal}`.trimEnd()),
      '',
      `  status codes: ${statuses || 'none'}`,
      // Where the 2 cores went: whichever is near 100% of a core is the bottleneck.
      `  CPU (share of one core): api ${share(apiCpuBefore, apiCpu)}, postgres ${share(pgCpuBefore, pgCpu)}, ` +
        `autocannon ${percent(selfSeconds)}, rest of the machine ${others === undefined ? 'n/a' : percent(others)}`,
      ...(others !== undefined && others / result.duration > 0.15
        ? ['  warning: other processes used the CPUs during the run; these figures understate the server']
        : []),
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');

    if (!all200) {
      process.stderr.write(`bench/api: not every response was a 200 (${statuses}); the API log is below\n`);
      process.stderr.write(readFileSync(apiLog, 'utf8').slice(-4000));
      return 1;
    }
    return 0;
  } catch (err) {
    process.stderr.write(`bench/api failed: ${err instanceof Error ? err.message : String(err)}\n`);
    if (existsSync(apiLog)) process.stderr.write(readFileSync(apiLog, 'utf8').slice(-4000));
    return 1;
  } finally {
    await stop();
  }
}

process.exitCode = await main();
