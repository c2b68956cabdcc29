// The real components Vaporform runs on, started as child processes: PostgreSQL, the Temporal dev server,
// Redis, an S3 server for the tests, and the Docker engine (a system daemon: started if absent, then left running).
// Dependency-free.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ensureDebianPackages, log, PrereqError, which } from './prereqs.mjs';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1. @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** @param {number} port @returns {Promise<boolean>} whether something accepts connections there */
export function portOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Polls `probe` until it returns true, or fails with `what` after `timeoutMs`.
 * @param {() => Promise<boolean> | boolean} probe @param {string} what @param {number} timeoutMs
 * @param {import('node:child_process').ChildProcess} [child] fail early if it exits
 */
export async function waitFor(probe, what, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new PrereqError(`${what}: the process exited (code ${child.exitCode})`);
    if (await probe()) return;
    await sleep(100);
  }
  throw new PrereqError(`${what}: not ready after ${Math.round(timeoutMs / 1000)} s`);
}

/**
 * @typedef {{ name: string, child: import('node:child_process').ChildProcess }} Started
 */

/**
 * Spawns a long-running component with its output going to a log file.
 * @param {string} name @param {string} command @param {string[]} args
 * @param {{ logFile: string, uid?: number, gid?: number, env?: NodeJS.ProcessEnv, cwd?: string }} options
 * @returns {Started}
 */
function spawnComponent(name, command, args, options) {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const out = openSync(options.logFile, 'a');
  const child = spawn(command, args, {
    stdio: ['ignore', out, out],
    env: options.env ?? process.env,
    cwd: options.cwd,
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
  });
  return { name, child };
}

/** @param {string} name @returns {{ uid: number, gid: number }} */
function systemUser(name) {
  const read = (/** @type {string} */ flag) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const uid = read('-u');
  const gid = read('-g');
  if (uid.status !== 0 || gid.status !== 0) throw new PrereqError(`PostgreSQL refuses to run as root and there is no "${name}" user.`);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Whether every directory above `dir` lets others pass through (so the postgres user can reach it). @param {string} dir */
function traversableByOthers(dir) {
  for (let current = path.dirname(path.resolve(dir)); ; current = path.dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (current === path.dirname(current)) return true;
  }
}

/** @param {string} dir @param {number} uid @param {number} gid */
function chownTree(dir, uid, gid) {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, uid, gid);
    else chownSync(full, uid, gid);
  }
}

/**
 * A private PostgreSQL cluster in `dataDir`, listening on 127.0.0.1:`port` only, password-protected.
 * Runs as the `postgres` user when we are root (PostgreSQL refuses root).
 * @param {{ bin: string, dataDir: string, port: number, logFile: string, database: string, fsync?: boolean }} options
 * @returns {Promise<Started & { url: string }>}
 */
export async function startPostgres(options) {
  let { dataDir } = options;
  /** @type {{ uid: number, gid: number } | undefined} */
  let owner;
  if (isRoot) {
    owner = systemUser('postgres');
    if (!traversableByOthers(dataDir)) {
      throw new PrereqError(`The postgres user cannot reach ${dataDir}: move the checkout somewhere readable, or set DATABASE_URL.`);
    }
  }
  const parent = path.dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  const passwordFile = path.join(parent, `${path.basename(dataDir)}.password`);
  const user = 'vaporform';
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const password = randomBytes(24).toString('base64url');
    writeFileSync(passwordFile, password, { mode: 0o600 });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pwfile = path.join(dataDir, '..', `.${path.basename(dataDir)}.pwfile`);
    writeFileSync(pwfile, password, { mode: 0o600 });
    if (owner) {
      chownSync(dataDir, owner.uid, owner.gid);
      chownSync(pwfile, owner.uid, owner.gid);
    }
    const init = spawnSync(
      path.join(options.bin, 'initdb'),
      ['-D', dataDir, '-U', user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-instructions'],
      { encoding: 'utf8', ...(owner ?? {}) },
    );
    spawnSync('rm', ['-f', pwfile]);
    if (init.status !== 0) throw new PrereqError(`initdb failed: ${init.stderr.trim()}`);
  }
  if (owner) chownTree(dataDir, owner.uid, owner.gid);
  const password = readFileSync(passwordFile, 'utf8').trim();
  if (await portOpen(options.port)) {
    throw new PrereqError(`Port ${options.port} is taken, so the private PostgreSQL cannot start: free it or set POSTGRES_PORT.`);
  }
  const started = spawnComponent(
    'postgres',
    path.join(options.bin, 'postgres'),
    [
      '-D', dataDir,
      '-p', String(options.port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=200',
      ...(options.fsync === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    { logFile: options.logFile, ...(owner ?? {}) },
  );
  await waitFor(() => portOpen(options.port), 'PostgreSQL', 30_000, started.child);
  const psql = path.join(options.bin, 'psql');
  const env = { ...process.env, PGPASSWORD: password };
  const connect = ['-h', '127.0.0.1', '-p', String(options.port), '-U', user, '-v', 'ON_ERROR_STOP=1', '-qAt'];
  // Accepting TCP is not yet accepting queries: wait until a query answers.
  await waitFor(
    () => spawnSync(psql, [...connect, '-d', 'postgres', '-c', 'SELECT 1'], { env }).status === 0,
    'PostgreSQL queries',
    30_000,
    started.child,
  );
  const exists = spawnSync(psql, [...connect, '-d', 'postgres', '-c', `SELECT 1 FROM pg_database WHERE datname = '${options.database}'`], {
    env,
    encoding: 'utf8',
  });
  if (exists.stdout.trim() !== '1') {
    const created = spawnSync(psql, [...connect, '-d', 'postgres', '-c', `CREATE DATABASE "${options.database}"`], { env, encoding: 'utf8' });
    if (created.status !== 0) throw new PrereqError(`Creating the database failed: ${created.stderr.trim()}`);
  }
  const url = `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${options.database}`;
  return { ...started, url };
}

/**
 * The Temporal dev server on 127.0.0.1:`port`, persisted to `dbFile` when given (in memory otherwise).
 * @param {{ bin: string, port: number, uiPort?: number, dbFile?: string, logFile: string }} options
 * @returns {Promise<Started & { address: string }>}
 */
export async function startTemporal(options) {
  if (await portOpen(options.port)) {
    throw new PrereqError(`Port ${options.port} is taken, so the Temporal dev server cannot start: free it or set TEMPORAL_ADDRESS.`);
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  // Every workflow task that an activity's completion causes reaches the worker through the history shard's
  // transfer queue, whose reader reads at most 20 times a second by default (after a short burst), and the dev
  // server has one shard. An agent step takes two such tasks (after the model's turn, after the tool), so once the
  // burst is spent runs are held to 100 ms a step whatever the worker does (about 40 ms with the limit lifted;
  // bench/agent). The reads are cheap on the dev server's SQLite. A cluster of our own needs the same setting.
  args.push('--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000');
  if (options.uiPort) args.push('--ui-port', String(options.uiPort), '--ui-ip', '127.0.0.1');
  else args.push('--headless');
  if (options.dbFile) {
    mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const started = spawnComponent('temporal', options.bin, args, { logFile: options.logFile });
  const address = `127.0.0.1:${options.port}`;
  await waitFor(() => portOpen(options.port), 'Temporal dev server', 60_000, started.child);
  await waitFor(
    () => spawnSync(options.bin, ['operator', 'namespace', 'describe', '--address', address, '--namespace', 'default'], { stdio: 'ignore' }).status === 0,
    'Temporal default namespace',
    60_000,
    started.child,
  );
  return { ...started, address };
}

/**
 * A Redis server on 127.0.0.1:`port` without persistence.
 * @param {{ port: number, logFile: string }} options @returns {Promise<Started & { url: string }>}
 */
export async function startRedis(options) {
  ensureDebianPackages({ 'redis-server': 'redis-server' }, 'Redis');
  const started = spawnComponent(
    'redis',
    /** @type {string} */ (which('redis-server')),
    ['--port', String(options.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    { logFile: options.logFile },
  );
  await waitFor(() => portOpen(options.port), 'Redis', 15_000, started.child);
  return { ...started, url: `redis://127.0.0.1:${options.port}` };
}

/**
 * The tests' S3 server: the Versity S3 Gateway (Apache-2.0) over a directory. MinIO would do as well, but its
 * server is under the AGPL, which this project does not use.
 */
const S3_SERVER_MODULE = 'github.com/versity/versitygw/cmd/versitygw';
const S3_SERVER_VERSION = 'v1.8.0';

/**
 * The S3 server binary, built once from the Go module proxy into `cacheDir` (a few minutes the first time; Go's
 * own caches make a rebuild quick). Written aside and renamed: a half-built binary is never used.
 * @param {{ go: string, cacheDir: string, logFile: string }} options @returns {Promise<string>}
 */
export async function ensureS3Server(options) {
  const bin = path.join(options.cacheDir, `versitygw-${S3_SERVER_VERSION}`);
  if (existsSync(bin)) return bin;
  mkdirSync(options.cacheDir, { recursive: true });
  const scratch = mkdtempSync(path.join(options.cacheDir, 'build-'));
  try {
    log(`building the S3 server (versitygw ${S3_SERVER_VERSION}) from the Go module proxy (once; a few minutes)`);
    // Asynchronous: the test setup builds the sandbox images at the same time, in this process.
    const build = spawnComponent('go', options.go, ['install', '-trimpath', `${S3_SERVER_MODULE}@${S3_SERVER_VERSION}`], {
      logFile: options.logFile,
      env: { ...process.env, GOBIN: scratch, CGO_ENABLED: '0', GOFLAGS: '' },
    });
    const code = await new Promise((resolve) => {
      build.child.once('error', () => resolve(-1));
      build.child.once('exit', resolve);
    });
    if (code !== 0) throw new PrereqError(`Building the S3 server failed (exit code ${code}): see ${options.logFile}`);
    renameSync(path.join(scratch, 'versitygw'), bin);
    return bin;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * An S3 server on 127.0.0.1:`port` keeping its objects in `dataDir`, with a random root key pair.
 * @param {{ bin: string, port: number, dataDir: string, logFile: string }} options
 * @returns {Promise<Started & { endpoint: string, accessKey: string, secretKey: string }>}
 */
export async function startS3Server(options) {
  mkdirSync(options.dataDir, { recursive: true });
  const accessKey = `vf${randomBytes(6).toString('hex')}`;
  const secretKey = randomBytes(24).toString('base64url');
  const started = spawnComponent(
    's3',
    options.bin,
    ['--port', `127.0.0.1:${options.port}`, '--quiet', 'posix', options.dataDir],
    // The keys through the environment, not the command line (visible to every process of the machine).
    { logFile: options.logFile, env: { ...process.env, ROOT_ACCESS_KEY: accessKey, ROOT_SECRET_KEY: secretKey } },
  );
  await waitFor(() => portOpen(options.port), 'the S3 server', 60_000, started.child);
  return { ...started, endpoint: `http://127.0.0.1:${options.port}`, accessKey, secretKey };
}

/** @param {string} socketPath @returns {Promise<boolean>} */
function dockerAnswers(socketPath) {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}

/**
 * Makes sure a Docker engine answers on `socketPath`: installs docker.io and starts dockerd when it is
 * missing and we may. The daemon is the machine's, not ours: it keeps running after we stop.
 * @param {{ socketPath?: string, logFile: string }} options
 */
export async function ensureDocker(options) {
  const socketPath = options.socketPath ?? '/var/run/docker.sock';
  if (await dockerAnswers(socketPath)) return;
  if (!isRoot) {
    throw new PrereqError(
      `No Docker engine answers on ${socketPath}: start Docker (sudo dockerd) or give your user access to its socket, then run again.`,
    );
  }
  ensureDebianPackages({ dockerd: 'docker.io' }, 'Project sandboxes');
  const dockerd = /** @type {string} */ (which('dockerd'));
  log('starting the Docker engine (dockerd)');
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const out = openSync(options.logFile, 'a');
  const child = spawn(dockerd, [], { stdio: ['ignore', out, out], detached: true });
  child.unref();
  try {
    await waitFor(() => dockerAnswers(socketPath), 'Docker engine', 60_000);
  } catch {
    throw new PrereqError(`dockerd did not come up; its log is ${options.logFile}. Docker is needed for project sandboxes.`);
  }
}

/**
 * Stops children in reverse start order: SIGTERM (SIGINT for postgres: its "fast" shutdown), then SIGKILL.
 * @param {Started[]} started @param {number} [graceMs]
 */
export async function stopAll(started, graceMs = 10_000) {
  for (const { name, child } of [...started].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(name === 'postgres' ? 'SIGINT' : 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

