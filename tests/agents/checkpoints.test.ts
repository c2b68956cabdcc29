/**
 * Checkpoints in a real sandbox: each step that changed files is a commit in a repository apart from the user's;
 * revert puts every file back exactly (added ones removed, deleted ones back, binary files too) while the user's
 * own git repository and ignored files stay untouched; a retried checkpoint makes no second commit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../lib/access.js';
import type { Checkpoints } from '../../services/agents/index.js';
import { sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('checkpoints');
let projectId: string;
let checkpoints: Checkpoints;
let owner: Principal;

const shell = (script: string) => sh(suite.api, suite.owner, projectId, script);
/** Every file outside .git and node_modules with its hash, and every directory: the workspace's exact state. */
const snapshot = () =>
  shell(
    "cd /workspace && find . \\( -path ./.git -o -path ./node_modules \\) -prune -o \\( -type f -exec sha256sum {} + \\) -o \\( -type d -print \\) -o \\( -type l -printf 'link %p -> %l\\n' \\) | sort",
  );
/** The user's repository, every byte of it. */
const userRepo = () => shell('cd /workspace/.git && find . -type f -exec sha256sum {} + | sort | sha256sum');
const RUN = 'run-checkpoints';

beforeAll(async () => {
  projectId = await suite.project();
  checkpoints = suite.app.services.checkpoints;
  owner = { kind: 'user', userId: suite.owner.userId };
  await shell(
    [
      'cd /workspace',
      'printf "one\\n" > a.txt && printf "gone soon\\n" > c.txt && mkdir -p keep && printf "k\\n" > keep/k.txt',
      'git init -q && git -c user.name=u -c user.email=u@example.test add -A && git -c user.name=u -c user.email=u@example.test commit -qm mine',
      'mkdir -p node_modules/dep && echo dep > node_modules/dep/index.js',
    ].join(' && '),
  );
});

describe('checkpoints', () => {
  let afterStep0: string;
  let afterStep1: string;
  let repoBefore: string;

  it('commit the workspace after each step that changed files, and only then', async () => {
    repoBefore = await userRepo();
    const base = await checkpoints.checkpoint(owner, projectId, { runId: RUN, step: 0, message: 'before the run' });
    expect(base).toMatch(/^[0-9a-f]{40}$/);
    afterStep0 = await snapshot();

    await shell(
      'cd /workspace && printf "one\\ntwo\\n" > a.txt && printf "new\\n" > b.txt && rm c.txt && mkdir -p dir/sub && printf "d\\n" > dir/sub/d.txt && head -c 300 /dev/urandom > blob.bin && ln -s a.txt link',
    );
    const step1 = await checkpoints.checkpoint(owner, projectId, { runId: RUN, step: 1, message: 'edited' });
    expect(step1).toMatch(/^[0-9a-f]{40}$/);
    expect(step1).not.toBe(base);
    afterStep1 = await snapshot();
    // A retried checkpoint of the same step makes no second commit.
    expect(await checkpoints.checkpoint(owner, projectId, { runId: RUN, step: 1, message: 'edited' })).toBe(step1);
    // A step that changed nothing has no checkpoint.
    expect(await checkpoints.checkpoint(owner, projectId, { runId: RUN, step: 2, message: 'read only' })).toBeNull();
    expect(await userRepo()).toBe(repoBefore);
    expect(await shell('cd /workspace && git status --porcelain | sort')).toMatch(/\?\? b\.txt/);
  });

  it('describe what a step changed, with the texts of small text files', async () => {
    const diff = await checkpoints.diff(owner, projectId, { runId: RUN, step: 1 });
    expect(diff.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(diff.truncated).toBe(false);
    const byPath = Object.fromEntries(diff.files.map((file) => [file.path, file]));
    expect(Object.keys(byPath).sort()).toEqual(['a.txt', 'b.txt', 'blob.bin', 'c.txt', 'dir/sub/d.txt', 'link']);
    expect(byPath['a.txt']).toEqual({ path: 'a.txt', change: 'modified', before: 'one\n', after: 'one\ntwo\n' });
    expect(byPath['b.txt']).toEqual({ path: 'b.txt', change: 'added', before: null, after: 'new\n' });
    expect(byPath['c.txt']).toEqual({ path: 'c.txt', change: 'deleted', before: 'gone soon\n', after: null });
    expect(byPath['blob.bin']).toMatchObject({ change: 'added', after: null });
    expect(await checkpoints.diff(owner, projectId, { runId: RUN, step: 2 })).toEqual({ sha: null, files: [], truncated: false });
  });

  it('revert restores the workspace exactly as after a step, leaving the user repository and ignored files alone', { timeout: 60_000 }, async () => {
    await shell(
      'cd /workspace && rm -r dir b.txt && printf "changed\\n" > a.txt && printf "later\\n" > later.txt && mkdir -p empty/deeper && echo x > empty/deeper/x && rm link && echo changed-dep > node_modules/dep/index.js',
    );
    expect(await checkpoints.checkpoint(owner, projectId, { runId: RUN, step: 3, message: 'more' })).toMatch(/^[0-9a-f]{40}$/);
    await shell('cd /workspace && printf "uncommitted\\n" > a.txt');

    const reverted = await checkpoints.revert(owner, projectId, { runId: RUN, step: 1 });
    expect(reverted.restoredStep).toBe(1);
    expect(await snapshot()).toBe(afterStep1);
    expect(await shell('cat /workspace/node_modules/dep/index.js')).toBe('changed-dep');
    expect(await userRepo()).toBe(repoBefore);

    // Step 2 changed nothing: reverting to it is reverting to step 1.
    expect((await checkpoints.revert(owner, projectId, { runId: RUN, step: 2 })).restoredStep).toBe(1);
    expect(await snapshot()).toBe(afterStep1);

    await checkpoints.revert(owner, projectId, { runId: RUN, step: 0 });
    expect(await snapshot()).toBe(afterStep0);
    expect(await userRepo()).toBe(repoBefore);
    // The user's repository sees its own files as it left them (node_modules was never part of it).
    expect(await shell('cd /workspace && git status --porcelain')).toBe('?? node_modules/');
  });

  it('refuses unknown runs and steps, bad ids, and principals without write access', async () => {
    await expect(checkpoints.revert(owner, projectId, { runId: 'run-unknown', step: 5 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(checkpoints.revert(owner, projectId, { runId: '../../x', step: 1 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(checkpoints.checkpoint(owner, projectId, { runId: RUN, step: -1, message: '' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const readOnly: Principal = { kind: 'apiKey', userId: suite.owner.userId, keyId: 'k', permissions: ['read'], projectIds: null };
    await expect(checkpoints.revert(readOnly, projectId, { runId: RUN, step: 1 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
