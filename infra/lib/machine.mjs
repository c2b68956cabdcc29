// What `npm start` and `npm test` make sure of before anything runs, on a fresh Debian machine: npm packages, the
// Debian packages of prereqs.mjs's one list, PostgreSQL, the Temporal CLI and the Docker engine. Dependency-free.
import path from 'node:path';
import { ensureDocker } from './components.mjs';
import {
  ensureDebianPackages,
  ensureGo,
  ensureNodeModules,
  ensurePostgres,
  ensureTemporalCli,
  SANDBOX_PREREQUISITES,
  TEST_PREREQUISITES,
} from './prereqs.mjs';

/**
 * @param {string} root the checkout
 * @param {{ tests: boolean, env: NodeJS.ProcessEnv, logsDir: string }} options `tests`: also what only the tests
 * need, and every component even where an external one is configured (the tests start their own)
 * @returns {Promise<{ postgresBin?: string, temporalBin?: string, goBin?: string }>}
 */
export async function prepareMachine(root, { tests, env, logsDir }) {
  ensureNodeModules(root);
  ensureDebianPackages(
    tests ? { ...SANDBOX_PREREQUISITES, ...TEST_PREREQUISITES } : SANDBOX_PREREQUISITES,
    tests ? 'The test suite' : 'Vaporform (its sandboxes)',
  );
  const found = {
    postgresBin: tests || !env.DATABASE_URL ? ensurePostgres() : undefined,
    temporalBin: tests || !env.TEMPORAL_ADDRESS ? ensureTemporalCli() : undefined,
    // The object storage tests run against a real S3 server, built from the Go module proxy (tests/setup).
    goBin: tests ? ensureGo() : undefined,
  };
  if (tests || !env.DOCKER_HOST) await ensureDocker({ socketPath: env.DOCKER_SOCKET, logFile: path.join(logsDir, 'dockerd.log') });
  return found;
}
