import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, sh } from '../helpers/sandbox.js';
import { TestSocket } from '../helpers/ws.js';
import { makeTar, readTar } from './tar-fixtures.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'files');
  projectId = await createProject(api, owner);
});
afterAll(async () => {
  t?.services.files.stopWatching(projectId);
  if (projectId) await t.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

const filesUrl = (suffix: string) => `/api/v1/projects/${projectId}/files${suffix}`;
const q = (path: string) => `path=${encodeURIComponent(path)}`;

/** A raw request: bytes in, bytes out (the JSON client would lose binary bodies). */
async function raw(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) {
  const response = await fetch(t.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${owner.accessToken}`, ...headers },
    body,
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const json = (response.headers.get('content-type') ?? '').includes('json') && bytes.length ? JSON.parse(bytes.toString()) : undefined;
  return { status: response.status, headers: response.headers, bytes, json };
}

const put = (path: string, body: Buffer | string, headers: Record<string, string> = {}) =>
  raw('PUT', filesUrl(`/content?${q(path)}`), body, { 'content-type': 'application/octet-stream', ...headers });
const read = (path: string, headers: Record<string, string> = {}) => raw('GET', filesUrl(`/content?${q(path)}`), undefined, headers);

describe('files through the API and the sandbox', () => {
  it('writes through the API, the sandbox sees it; a change in the sandbox arrives as an event', async () => {
    const socket = await TestSocket.open(`${t.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${owner.accessToken}`);
    try {
      socket.send({ type: 'subscribe', projectId });
      await socket.next((m) => m.type === 'subscribed');
      const written = await put('src/hello.txt', 'hello\n');
      expect(written.status, written.bytes.toString()).toBe(201);
      expect(written.json).toMatchObject({ path: 'src/hello.txt', size: 6, created: true });
      const apiEvent = await socket.next((m) => m.event?.type === 'file.changed' && m.event.data.path === 'src/hello.txt');
      expect(apiEvent.event).toMatchObject({
        data: { path: 'src/hello.txt', kind: 'created' },
        actor: { kind: 'user', id: owner.userId },
      });
      expect(await sh(api, owner, projectId, 'cat src/hello.txt')).toBe('hello');
      // The sandbox user owns what the API made, so it can change it.
      expect(await sh(api, owner, projectId, 'stat -c %u:%g src/hello.txt src')).toBe('1000:1000\n1000:1000');
      await sh(api, owner, projectId, 'echo more >> src/hello.txt');
      const sandboxEvent = await socket.next(
        (m) => m.event?.type === 'file.changed' && m.event.actor?.kind === 'sandbox' && m.event.data.path === 'src/hello.txt',
      );
      expect(sandboxEvent.event.data.kind).toBe('modified');
      expect((await read('src/hello.txt')).bytes.toString()).toBe('hello\nmore\n');
      // The API's own write is not reported a second time by the watcher: once a later change made in the sandbox
      // has arrived, an echo of the earlier one would have too.
      await sh(api, owner, projectId, 'echo later > later.txt');
      await socket.next((m) => m.event?.type === 'file.changed' && m.event.actor?.kind === 'sandbox' && m.event.data.path === 'later.txt');
      const fromSandbox = socket.messages
        .filter((m) => m.event?.type === 'file.changed' && m.event.actor?.kind === 'sandbox')
        .map((m) => m.event.data);
      expect(fromSandbox).toEqual([]);
      // A generator's burst: new directories and what is already in them when they are first seen.
      await sh(api, owner, projectId, 'mkdir -p gen/a/b && echo x > gen/a/b/f.txt && rm src/hello.txt');
      const seen = new Set<string>();
      await socket.next((m) => {
        if (m.event?.type === 'file.changed' && m.event.actor?.kind === 'sandbox') seen.add(`${m.event.data.kind} ${m.event.data.path}`);
        return seen.has('created gen/a/b/f.txt') && seen.has('deleted src/hello.txt');
      });
    } finally {
      socket.close();
    }
  });

  it('versions files: If-Match mismatch is a 409 with the current version', async () => {
    const first = await put('doc.md', 'v1');
    const version = first.json.version;
    const got = await read('doc.md');
    expect(got.headers.get('etag')).toBe(`"${version}"`);
    expect(got.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await read('doc.md', { 'if-none-match': `"${version}"` })).status).toBe(304);
    const second = await put('doc.md', 'v2', { 'if-match': `"${version}"` });
    expect(second.status).toBe(200);
    const stale = await put('doc.md', 'v3', { 'if-match': `"${version}"` });
    expect(stale.status).toBe(409);
    expect(stale.json.error).toMatchObject({ code: 'VERSION_MISMATCH', details: { currentVersion: second.json.version } });
    expect((await read('doc.md')).bytes.toString()).toBe('v2');
    const createOnly = await put('doc.md', 'v4', { 'if-none-match': '*' });
    expect(createOnly.status).toBe(409);
    expect(createOnly.json.error.code).toBe('ALREADY_EXISTS');
    expect((await put('fresh.md', 'new', { 'if-none-match': '*' })).status).toBe(201);
  });

  it('round-trips binary content byte for byte', async () => {
    const bytes = Buffer.concat([Buffer.from([0, 1, 2, 0, 255, 254]), randomBytes(100_000)]);
    expect((await put('bin/blob.dat', bytes)).status).toBe(201);
    const got = await read('bin/blob.dat');
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.bytes.equals(bytes)).toBe(true);
    expect(await sh(api, owner, projectId, 'sha256sum bin/blob.dat | cut -d" " -f1')).toBe(
      (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex'),
    );
    // A JSON file is stored as the bytes sent, not parsed.
    const json = '{ "a":  1 }';
    expect((await put('data.json', json, { 'content-type': 'application/json' })).status).toBe(201);
    expect((await read('data.json')).bytes.toString()).toBe(json);
    // No content type at all is taken as bytes too.
    const untyped = await raw('PUT', filesUrl(`/content?${q('untyped.bin')}`), Buffer.from([9, 0, 9]));
    expect(untyped.status, untyped.bytes.toString()).toBe(201);
    expect((await read('untyped.bin')).bytes.equals(Buffer.from([9, 0, 9]))).toBe(true);
    expect((await put('empty.txt', '')).json).toMatchObject({ size: 0, created: true });
  });

  it('refuses an oversized write with a clear 413', async () => {
    const response = await put('big.bin', Buffer.alloc(10 * 1024 * 1024 + 1));
    expect(response.status).toBe(413);
    expect(response.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await read('big.bin')).status).toBe(404);
  });

  it('lists the tree with sizes and types, leaving out node_modules and .git unless asked', async () => {
    await sh(api, owner, projectId, 'mkdir -p tree/node_modules/x tree/.git tree/lib && echo 12345 > tree/lib/a.ts && touch tree/node_modules/x/i.js tree/.git/HEAD && ln -sf lib/a.ts tree/link');
    const response = await api.get(filesUrl(`/tree?${q('tree')}`), { token: owner.accessToken });
    expect(response.status, response.text).toBe(200);
    const names = response.body.tree.children.map((c: any) => c.name);
    expect(names).toEqual(['lib', 'link']);
    const lib = response.body.tree.children[0];
    expect(lib).toMatchObject({ type: 'directory', path: 'tree/lib' });
    expect(lib.children[0]).toMatchObject({ name: 'a.ts', path: 'tree/lib/a.ts', type: 'file', size: 6 });
    expect(response.body.tree.children[1]).toMatchObject({ type: 'symlink', target: 'lib/a.ts' });
    const all = await api.get(filesUrl(`/tree?${q('tree')}&includeIgnored=true`), { token: owner.accessToken });
    expect(all.body.tree.children.map((c: any) => c.name)).toEqual(['.git', 'lib', 'link', 'node_modules']);
  });

  it('searches text files, skipping binaries and ignored directories', async () => {
    await put('s/one.ts', 'const needle = 1;\nother\nNEEDLE again\n');
    await put('s/bin.dat', Buffer.concat([Buffer.from('needle'), Buffer.from([0, 0, 0])]));
    await sh(api, owner, projectId, 'mkdir -p s/node_modules && echo needle > s/node_modules/dep.js');
    const response = await api.get(filesUrl(`/search?q=needle&${q('s')}`), { token: owner.accessToken });
    expect(response.status, response.text).toBe(200);
    expect(response.body.matches).toEqual([
      { path: 's/one.ts', line: 1, column: 7, preview: 'const needle = 1;' },
      { path: 's/one.ts', line: 3, column: 1, preview: 'NEEDLE again' },
    ]);
    const capped = await api.get(filesUrl(`/search?q=needle&${q('s')}&maxResults=1`), { token: owner.accessToken });
    expect(capped.body).toMatchObject({ truncated: true });
    expect(capped.body.matches).toHaveLength(1);
  });

  it('makes directories, moves and deletes', async () => {
    const made = await api.post(filesUrl('/mkdir'), { token: owner.accessToken, body: { path: 'm/a/b' } });
    expect(made.status).toBe(201);
    expect((await api.post(filesUrl('/mkdir'), { token: owner.accessToken, body: { path: 'm/a/b' } })).status).toBe(200);
    await put('m/a/b/f.txt', 'moving');
    const moved = await api.post(filesUrl('/move'), { token: owner.accessToken, body: { from: 'm/a/b/f.txt', to: 'm/g.txt' } });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body).toEqual({ from: 'm/a/b/f.txt', to: 'm/g.txt' });
    expect(await sh(api, owner, projectId, 'cat m/g.txt; echo; test -e m/a/b/f.txt || echo gone')).toBe('moving\ngone');
    await put('m/h.txt', 'other');
    const clash = await api.post(filesUrl('/move'), { token: owner.accessToken, body: { from: 'm/h.txt', to: 'm/g.txt' } });
    expect(clash.status).toBe(409);
    const over = await api.post(filesUrl('/move'), { token: owner.accessToken, body: { from: 'm/h.txt', to: 'm/g.txt', overwrite: true } });
    expect(over.status).toBe(200);
    const notEmpty = await api.delete(filesUrl(`?${q('m/a')}`), { token: owner.accessToken });
    expect(notEmpty.status).toBe(409);
    expect((await api.delete(filesUrl(`?${q('m/a')}&recursive=true`), { token: owner.accessToken })).status).toBe(204);
    expect((await api.delete(filesUrl(`?${q('m/g.txt')}`), { token: owner.accessToken })).status).toBe(204);
    expect(await sh(api, owner, projectId, 'ls -A m')).toBe('');
    expect((await api.delete(filesUrl(`?${q('m/nothing')}`), { token: owner.accessToken })).status).toBe(404);
  });

  it('refuses to move a directory into itself without creating anything', async () => {
    expect((await api.post(filesUrl('/mkdir'), { token: owner.accessToken, body: { path: 'self/a' } })).status).toBe(201);
    const refused = await api.post(filesUrl('/move'), { token: owner.accessToken, body: { from: 'self/a', to: 'self/a/b/c' } });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.error.code).toBe('INVALID_PATH');
    expect(await sh(api, owner, projectId, 'ls -A self/a')).toBe('');
  });

  it('round-trips a tar archive: upload, then download', async () => {
    const blob = randomBytes(5000);
    const archive = await makeTar([
      { name: 'pkg/', type: 'directory' },
      { name: 'pkg/readme.md', content: '# hi\n' },
      { name: 'pkg/bin/run.sh', content: '#!/bin/sh\necho run\n', mode: 0o755 },
      { name: 'pkg/blob.bin', content: blob },
      { name: 'pkg/alias', type: 'symlink', linkname: 'readme.md' },
    ]);
    const uploaded = await raw('PUT', filesUrl(`/archive?${q('up')}`), archive, { 'content-type': 'application/x-tar' });
    expect(uploaded.status, uploaded.bytes.toString()).toBe(200);
    expect(uploaded.json).toMatchObject({ path: 'up', files: 3, symlinks: 1 });
    expect(await sh(api, owner, projectId, 'up/pkg/bin/run.sh && cat up/pkg/alias && stat -c %u up/pkg/blob.bin')).toBe('run\n# hi\n1000');
    const downloaded = await raw('GET', filesUrl(`/archive?${q('up')}`));
    expect(downloaded.status).toBe(200);
    expect(downloaded.headers.get('content-type')).toBe('application/x-tar');
    const entries = await readTar(downloaded.bytes);
    expect([...entries.keys()].sort()).toEqual(['pkg', 'pkg/alias', 'pkg/bin', 'pkg/bin/run.sh', 'pkg/blob.bin', 'pkg/readme.md']);
    expect((entries.get('pkg/blob.bin')!.content as Buffer).equals(blob)).toBe(true);
    expect(entries.get('pkg/alias')).toMatchObject({ type: 'symlink', linkname: 'readme.md' });
  });

  it('needs write access to change files and read access to see them', async () => {
    const stranger = await signUp(api, 'stranger');
    const response = await api.get(filesUrl(`/content?${q('doc.md')}`), { token: stranger.accessToken });
    expect(response.status).toBe(404);
    expect((await api.get(filesUrl('/tree'))).status).toBe(401);
  });
});
