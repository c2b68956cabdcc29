// `npm test`: install what the tests need on a fresh machine (infra/lib/machine.mjs: npm packages; PostgreSQL, Redis,
// the Docker engine, Chromium, debootstrap and the Temporal CLI where missing; Go is checked), type-check the tree,
// then run every test with vitest against those real components. Arguments are passed to vitest
// (`npm test -- tests/auth`). Dependency-free: runs before npm ci.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareMachine } from './lib/machine.mjs';
import { log, PrereqError, run } from './lib/prereqs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main() {
  const found = await prepareMachine(root, { tests: true, env: process.env, logsDir: path.join(root, '.data', 'logs') });

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
  const env = { ...process.env, VF_POSTGRES_BIN: found.postgresBin, VF_TEMPORAL_BIN: found.temporalBin, VF_GO_BIN: found.goBin };
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
