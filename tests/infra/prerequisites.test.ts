/**
 * `npm start` and `npm test` make sure of one list of prerequisites (infra/lib/machine.mjs): on a machine without
 * debootstrap, both install it (as root) or say in one sentence how to, rather than leave the sandbox images unbuilt.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config.js';

/** Runs prepareMachine as a user who may not install anything, on a PATH without /usr/sbin (where debootstrap is). */
function prepareAsNobody(tests: boolean) {
  const machine = pathToFileURL(path.join(repoRoot, 'infra', 'lib', 'machine.mjs')).href;
  const script = `import { prepareMachine } from ${JSON.stringify(machine)};
    await prepareMachine(${JSON.stringify(repoRoot)}, { tests: ${tests}, env: {}, logsDir: '/tmp' });`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    uid: 65534,
    gid: 65534,
    env: { PATH: '/usr/bin:/bin', HOME: '/tmp' },
    encoding: 'utf8',
  });
}

describe('prerequisites', () => {
  it.each([
    ['npm start', false],
    ['npm test', true],
  ])('%s needs debootstrap for the sandbox images, and says how to get it', (_command, tests) => {
    const result = prepareAsNobody(tests);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('needs the Debian packages debootstrap: install them (sudo apt-get install debootstrap)');
  });
});
