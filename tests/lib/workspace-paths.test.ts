import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseUserPath, Workspace } from '../../lib/workspace-paths.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'vf-ws-'));
const root = path.join(base, '_data');
mkdirSync(path.join(root, 'src/deep'), { recursive: true });
writeFileSync(path.join(root, 'src/a.txt'), 'a');
writeFileSync(path.join(base, 'secret'), 'host');
const ws = new Workspace(root);
afterAll(() => rmSync(base, { recursive: true, force: true }));

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (err: { code?: string }) => err.code,
  );

describe('workspace paths', () => {
  it('normalises and refuses what may not be', () => {
    expect(parseUserPath('./src//deep/../a.txt')).toEqual(['src', 'a.txt']);
    expect(parseUserPath('')).toEqual([]);
    expect(() => parseUserPath('../x')).toThrow(expect.objectContaining({ code: 'PATH_OUTSIDE_WORKSPACE' }));
    expect(() => parseUserPath('src/../../x')).toThrow(expect.objectContaining({ code: 'PATH_OUTSIDE_WORKSPACE' }));
    expect(() => parseUserPath('/etc/passwd')).toThrow(expect.objectContaining({ code: 'INVALID_PATH' }));
    expect(() => parseUserPath('a\0b')).toThrow(expect.objectContaining({ code: 'INVALID_PATH' }));
    expect(() => parseUserPath('x'.repeat(256))).toThrow(expect.objectContaining({ code: 'INVALID_PATH' }));
    expect(() => parseUserPath('ab/'.repeat(1400))).toThrow(expect.objectContaining({ code: 'INVALID_PATH' }));
  });

  it('follows symlinks as the sandbox would, only while they stay inside', async () => {
    symlinkSync('/workspace/src', path.join(root, 'abs-in'));
    symlinkSync('../secret', path.join(root, 'rel-out'));
    symlinkSync('/workspace/../secret', path.join(root, 'abs-out'));
    symlinkSync('deep/..', path.join(root, 'src/self'));
    symlinkSync('loop', path.join(root, 'loop'));
    expect((await ws.resolve('abs-in/a.txt')).parts).toEqual(['src', 'a.txt']);
    expect((await ws.resolve('src/self/a.txt')).parts).toEqual(['src', 'a.txt']);
    expect(await code(ws.resolve('rel-out', { followFinal: true }))).toBe('PATH_OUTSIDE_WORKSPACE');
    expect(await code(ws.resolve('abs-out', { followFinal: true }))).toBe('PATH_OUTSIDE_WORKSPACE');
    expect(await code(ws.resolve('loop/x'))).toBe('INVALID_PATH');
    // Not following the last one: the link itself.
    expect((await ws.resolve('rel-out')).stat?.isSymbolicLink()).toBe(true);
  });

  it('refuses a directory swapped for a symlink after it was resolved', async () => {
    const resolved = await ws.resolve('src/deep');
    renameSync(path.join(root, 'src/deep'), path.join(root, 'src/deep-moved'));
    symlinkSync(base, path.join(root, 'src/deep'));
    expect(await code(ws.openDir(resolved.parts))).toMatch(/^(INVALID_PATH|PATH_OUTSIDE_WORKSPACE)$/);
    rmSync(path.join(root, 'src/deep'));
    symlinkSync(path.join(root, 'src'), path.join(root, 'src/deep'));
    // Even a host path that leads back inside is not the directory that was resolved.
    expect(await code(ws.openDir(resolved.parts))).not.toBe('ok');
  });
});
