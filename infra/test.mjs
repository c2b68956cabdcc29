// `npm test`: install what the tests need on a fresh machine (npm packages; PostgreSQL, Redis, the Docker
// engine, Chromium and the Temporal CLI where missing), type-check the tree, then run every test with
// vitest against those real components. Arguments are passed to vitest (`npm test -- tests/auth`).
// Dependency-free: runs before npm ci.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDocker } from './lib/components.mjs';
import {
  ensureDebianPackages,
  ensureNodeModules,
  ensurePostgres,
  ensureTemporalCli,
  log,
  PrereqError,
  run,
} from './lib/prereqs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main() {
  ensureNodeModules(root);
  const postgresBin = ensurePostgres();
  ensureDebianPackages(
    {
      'redis-server': 'redis-server',
      chromium: 'chromium',
      debootstrap: 'debootstrap',
      '/bin/busybox': 'busybox-static',
    },
    'The test suite',
  );
  const temporalBin = ensureTemporalCli();
  await ensureDocker({ socketPath: process.env.DOCKER_SOCKET, logFile: path.join(root, '.data', 'logs', 'dockerd.log') });

  log('type-checking');
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    what: 'type-checking the server',
    cwd: root,
  });
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'ide/tsconfig.json'], {
    what: 'type-checking the IDE',
    cwd: root,
  });

  log('running the tests');
  const env = { ...process.env, VF_POSTGRES_BIN: postgresBin, VF_TEMPORAL_BIN: temporalBin };
  run(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
    what: 'the tests',
    cwd: root,
    env,
  });
}

main().catch((err) => {
  log(err instanceof PrereqError ? err.message : `failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
