/** The watcher reports what goes wrong with a watch (never swallows it) and watches the directory again. */
import { watch as fsWatch, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync, type FSWatcher } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Workspace } from '../../lib/workspace-paths.js';
import { SandboxWatcher } from '../../services/files/sandbox-watcher.js';

const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'vf-watch-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let watcher: SandboxWatcher | null = null;
afterEach(() => watcher?.close());

/** fs.watch, except that the calls numbered in `failing` throw as when the host's inotify watches run out. */
function flakyWatch(failing: Set<number>) {
  const made: FSWatcher[] = [];
  let calls = 0;
  const watch = ((...args: Parameters<typeof fsWatch>) => {
    calls += 1;
    if (failing.has(calls)) throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    const made1 = fsWatch(...args);
    made.push(made1);
    return made1;
  }) as typeof fsWatch;
  return { watch, made };
}

function start(dir: string, watch: typeof fsWatch) {
  const errors: unknown[] = [];
  const changes: string[] = [];
  watcher = new SandboxWatcher(new Workspace(dir), {
    debounceMs: 20,
    maxDirectories: 100,
    onChange: (p, kind) => changes.push(`${kind} ${p}`),
    onError: (err) => errors.push(err),
    watch,
  });
  return { errors, changes, started: watcher.start() };
}

describe('sandbox watcher', () => {
  it('reports a watch that could not be made, and watches that directory once it can', async () => {
    const dir = path.join(root, 'limit');
    mkdirSync(path.join(dir, 'a'), { recursive: true });
    const { watch, made } = flakyWatch(new Set([2])); // the workspace itself, then a/ fails
    const { errors, changes, started } = start(dir, watch);
    await started;
    expect(errors).toEqual([expect.objectContaining({ code: 'ENOSPC' })]);
    await expect.poll(() => made.length, { timeout: 10_000 }).toBe(2);
    writeFileSync(path.join(dir, 'a', 'f.txt'), 'x');
    await expect.poll(() => changes, { timeout: 10_000 }).toContain('created a/f.txt');
  });

  it('reports the error of a live watch, and watches again', async () => {
    const dir = path.join(root, 'live');
    mkdirSync(path.join(dir, 'b'), { recursive: true });
    const { watch, made } = flakyWatch(new Set());
    const { errors, changes, started } = start(dir, watch);
    await started;
    expect(made).toHaveLength(2);
    made[1]!.emit('error', new Error('inotify went away'));
    expect(errors).toEqual([expect.objectContaining({ message: 'inotify went away' })]);
    await expect.poll(() => made.length, { timeout: 10_000 }).toBe(3);
    writeFileSync(path.join(dir, 'b', 'g.txt'), 'x');
    await expect.poll(() => changes, { timeout: 10_000 }).toContain('created b/g.txt');
  });
});
