// `npm start`: set up what is missing, then run Vaporform: a private PostgreSQL (unless DATABASE_URL), the
// Temporal dev server (unless TEMPORAL_ADDRESS), the API with the built IDE, and the Temporal worker, each a
// supervised child process; Ctrl-C stops them all, in reverse order. Dependency-free: runs before npm ci.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, startTemporal, stopAll, waitFor } from './lib/components.mjs';
import { prepareMachine } from './lib/machine.mjs';
import { log, PrereqError, run } from './lib/prereqs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.resolve(root, process.env.DATA_DIR ?? '.data');
const logsDir = path.join(dataDir, 'logs');

/** @type {import('./lib/components.mjs').Started[]} */
const started = [];
let stopping = false;

/** @param {string} dir @returns {number} newest modification time of any file under dir */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds the IDE when its sources are newer than the last build. */
function ensureIdeBuilt() {
  const ideDir = path.join(root, 'ide');
  const built = path.join(ideDir, 'dist', 'index.html');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(ideDir)) return;
  log('building the IDE');
  run(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
    what: 'building the IDE',
    cwd: ideDir,
  });
}

/**
 * Runs one of our Node processes, its output prefixed with its name, restarted with back-off if it crashes.
 * @param {string} name @param {string} entry @param {NodeJS.ProcessEnv} env
 */
function supervise(name, entry, env) {
  /** @type {number[]} */
  const crashes = [];
  const entryRef = { name, child: spawnNode(name, entry, env) };
  started.push(entryRef);
  const onExit = (/** @type {number | null} */ code) => {
    if (stopping) return;
    const now = Date.now();
    crashes.push(now);
    while (crashes.length && (crashes[0] ?? 0) < now - 60_000) crashes.shift();
    if (crashes.length >= 5) {
      log(`${name} crashed ${crashes.length} times in a minute; stopping Vaporform`);
      void shutdown(1);
      return;
    }
    const delay = 500 * 2 ** (crashes.length - 1);
    log(`${name} exited (code ${code}); restarting in ${delay} ms`);
    setTimeout(() => {
      if (stopping) return;
      entryRef.child = spawnNode(name, entry, env);
      entryRef.child.once('exit', onExit);
    }, delay);
  };
  entryRef.child.once('exit', onExit);
}

/** @param {string} name @param {string} entry @param {NodeJS.ProcessEnv} env */
function spawnNode(name, entry, env) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (/** @type {string} */ chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`[${name}] ${line}\n`);
    });
  }
  return child;
}

/** @param {number} code */
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  log('stopping');
  await stopAll(started);
  process.exit(code);
}

async function main() {
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env, DATA_DIR: dataDir };
  const found = await prepareMachine(root, { tests: false, env, logsDir });
  ensureIdeBuilt();

  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    // Skipped in a second when nothing changed; the first time takes a few minutes (debootstrap, apt).
    run(process.execPath, ['--import', 'tsx', path.join(root, 'sandbox-images', 'build.ts')], {
      what: 'building the sandbox images',
      cwd: root,
      env,
    });
  } catch (err) {
    // The API is still useful without sandboxes; say what is missing (so does /ready) rather than refusing to start.
    log(`${err instanceof Error ? err.message : err}: projects cannot start sandboxes until \`npm run images:build\` succeeds`);
  }

  if (!env.DATABASE_URL) {
    const postgres = await startPostgres({
      bin: /** @type {string} */ (found.postgresBin),
      dataDir: path.join(dataDir, 'postgres'),
      port: Number(env.POSTGRES_PORT ?? 54329),
      logFile: path.join(logsDir, 'postgres.log'),
      database: 'vaporform',
    });
    started.push(postgres);
    env.DATABASE_URL = postgres.url;
    log(`PostgreSQL is up (data in ${path.relative(root, path.join(dataDir, 'postgres'))})`);
  }

  if (!env.TEMPORAL_ADDRESS) {
    const temporal = await startTemporal({
      bin: /** @type {string} */ (found.temporalBin),
      port: Number(env.TEMPORAL_PORT ?? 7233),
      uiPort: Number(env.TEMPORAL_UI_PORT ?? 8233),
      dbFile: path.join(dataDir, 'temporal', 'temporal.db'),
      logFile: path.join(logsDir, 'temporal.log'),
    });
    started.push(temporal);
    env.TEMPORAL_ADDRESS = temporal.address;
    log(`Temporal dev server is up at ${temporal.address} (UI on 127.0.0.1:${env.TEMPORAL_UI_PORT ?? 8233})`);
  }

  supervise('api', 'services/gateway/main.ts', env);
  supervise('worker', 'workflows/main.ts', env);

  const host = env.HOST || '127.0.0.1';
  const port = Number(env.PORT ?? 4000);
  await waitFor(
    () =>
      fetch(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/health`).then(
        (response) => response.ok,
        () => false,
      ),
    'API',
    60_000,
  );
  log(`Vaporform is running: http://${host}:${port} (readiness at /ready). Ctrl-C stops it.`);
}

main().catch(async (err) => {
  if (err instanceof PrereqError) log(err.message);
  else log(`failed to start: ${err instanceof Error ? err.stack : String(err)}`);
  await shutdown(1);
});
