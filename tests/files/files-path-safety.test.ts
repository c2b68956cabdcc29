import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, sh } from '../helpers/sandbox.js';
import { makeTar, type TarEntry } from './tar-fixtures.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
let hostDir: string;
let hostBefore: { passwd: string; volumeDir: string[] };
let containerPasswd: string;

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'attacker');
  projectId = await createProject(api, owner);
  // Through the API first: the files service then knows the workspace.
  expect((await put('src/a.txt', 'inside')).status).toBe(201);
  await sh(
    api,
    owner,
    projectId,
    [
      'ln -s /etc/passwd leak',
      'ln -s / root',
      'ln -s .. up',
      'ln -s /workspace/../../ x',
      'ln -s /etc etcdir',
      'ln -s src/a.txt alias',
      'ln -s /workspace/src inner',
      'mkfifo pipe',
    ].join(' && '),
  );
  hostDir = await t.services.sandboxes.workspaceDir(projectId, 'node');
  hostBefore = { passwd: sha('/etc/passwd'), volumeDir: readdirSync(path.dirname(hostDir)).sort() };
  containerPasswd = await sh(api, owner, projectId, 'sha256sum /etc/passwd');
});
afterAll(async () => {
  t?.services.files.stopWatching(projectId);
  if (projectId) await t.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

const filesUrl = (suffix: string) => `/api/v1/projects/${projectId}/files${suffix}`;

/** A path as it goes in a query string: encoded once, unless `raw` (already encoded by the attacker). */
const q = (p: string, raw = false) => `path=${raw ? p : encodeURIComponent(p)}`;

async function request(method: string, url: string, body?: Buffer | string, headers: Record<string, string> = {}) {
  const response = await fetch(t.baseUrl + url, {
    method,
    headers: { authorization: `Bearer ${owner.accessToken}`, ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, json: (response.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : undefined };
}

function put(p: string, body: Buffer | string, raw = false) {
  return request('PUT', filesUrl(`/content?${q(p, raw)}`), body, { 'content-type': 'application/octet-stream' });
}

/** Every operation, each given the hostile path where a path goes. */
function everyOperation(p: string, raw = false) {
  const json = { 'content-type': 'application/json' };
  const encodedForBody = raw ? decodeURIComponent(p) : p;
  return {
    read: () => request('GET', filesUrl(`/content?${q(p, raw)}`)),
    write: () => put(p, 'pwned', raw),
    tree: () => request('GET', filesUrl(`/tree?${q(p, raw)}`)),
    search: () => request('GET', filesUrl(`/search?q=root&${q(p, raw)}`)),
    download: () => request('GET', filesUrl(`/archive?${q(p, raw)}`)),
    delete: () => request('DELETE', filesUrl(`?${q(p, raw)}&recursive=true`)),
    mkdir: () => request('POST', filesUrl('/mkdir'), JSON.stringify({ path: `${encodedForBody}/pwned-dir` }), json),
    moveFrom: () => request('POST', filesUrl('/move'), JSON.stringify({ from: encodedForBody, to: 'stolen' }), json),
    moveTo: () => request('POST', filesUrl('/move'), JSON.stringify({ from: 'src/a.txt', to: encodedForBody, overwrite: true }), json),
    upload: async () =>
      request('PUT', filesUrl(`/archive?${q(p, raw)}`), await makeTar([{ name: 'pwned.txt', content: 'pwned' }]), {
        'content-type': 'application/x-tar',
      }),
  };
}

async function expectAllRefused(p: string, raw = false) {
  for (const [name, operation] of Object.entries(everyOperation(p, raw))) {
    const response = await operation();
    expect([400, 403], `${name} ${JSON.stringify(p)}: ${response.status} ${response.text}`).toContain(response.status);
    expect(response.json?.error?.code, `${name} ${JSON.stringify(p)}`).toMatch(/^(INVALID_PATH|PATH_OUTSIDE_WORKSPACE|VALIDATION_FAILED)$/);
  }
}

async function expectHostUntouched() {
  expect(sha('/etc/passwd')).toBe(hostBefore.passwd);
  expect(readdirSync(path.dirname(hostDir)).sort()).toEqual(hostBefore.volumeDir);
  for (const stray of ['/pwned', '/tmp/pwned', '/etc/pwned', '/stolen', '/tmp/pwned.txt', '/pwned.txt', '/evil', '/tmp/evil']) {
    expect(existsSync(stray), stray).toBe(false);
  }
  expect(await sh(api, owner, projectId, 'sha256sum /etc/passwd')).toBe(containerPasswd);
  expect(await sh(api, owner, projectId, 'ls / /tmp | grep -E "pwned|stolen|evil" || true')).toBe('');
  expect(await sh(api, owner, projectId, 'cat src/a.txt')).toBe('inside');
}

describe('hostile paths', () => {
  it.each([
    ['../../etc/passwd'],
    ['/etc/passwd'],
    ['..'],
    ['src/../../etc/passwd'],
    ['a\u0000b'],
    ['n'.repeat(300)],
    ['a/'.repeat(2500)],
  ])('refuses %j in every operation', async (p) => {
    await expectAllRefused(p);
    await expectHostUntouched();
  });

  it('refuses the URL-encoded forms once decoded, and keeps double-encoded names a harmless literal name', async () => {
    await expectAllRefused('%2e%2e%2fetc%2fpasswd', true);
    await expectAllRefused('%2E%2E/%2E%2E/etc/passwd', true);
    await expectAllRefused('..%2f..%2fetc%2fpasswd', true);
    await expectAllRefused('%00', true);
    // Decoded once by the server, `%252e...` is the name `%2e%2e%2fetc%2fpasswd`: a plain file inside.
    const doubled = '%252e%252e%252fetc%252fpasswd';
    expect((await request('GET', filesUrl(`/content?${q(doubled, true)}`))).status).toBe(404);
    expect((await put(doubled, 'literal', true)).status).toBe(201);
    expect(await sh(api, owner, projectId, "cat '%2e%2e%2fetc%2fpasswd'")).toBe('literal');
    await expectHostUntouched();
  });
});

describe('symlinks made in the sandbox', () => {
  it.each([
    ['leak'],
    ['leak/x'],
    ['root'],
    ['root/etc/passwd'],
    ['root/tmp/pwned'],
    ['up'],
    ['up/etc/passwd'],
    ['x'],
    ['x/etc/passwd'],
    ['etcdir'],
    ['etcdir/passwd'],
  ])('refuses to go through %j', async (p) => {
    const ops = everyOperation(p);
    // The link itself may be removed or renamed (it lives in the workspace); going through it may not.
    const through = p.includes('/');
    for (const [name, operation] of Object.entries(ops)) {
      if (!through && (name === 'delete' || name === 'moveFrom' || name === 'moveTo')) continue;
      const response = await operation();
      expect(response.status, `${name} ${p}: ${response.text}`).toBe(403);
      expect(response.json.error.code).toBe('PATH_OUTSIDE_WORKSPACE');
    }
    await expectHostUntouched();
  });

  it('follows a symlink that stays inside the workspace', async () => {
    const alias = await request('GET', filesUrl(`/content?${q('alias')}`));
    expect(alias.status).toBe(200);
    expect(alias.text).toBe('inside');
    const inner = await request('GET', filesUrl(`/content?${q('inner/a.txt')}`));
    expect(inner.text).toBe('inside');
    const tree = await request('GET', filesUrl(`/tree?${q('inner')}`));
    expect(tree.status).toBe(200);
    expect(tree.json.tree.children.map((c: any) => c.name)).toContain('a.txt');
  });

  it('removes a link pointing outside without touching its target', async () => {
    await sh(api, owner, projectId, 'ln -s /etc/passwd doomed');
    expect((await request('DELETE', filesUrl(`?${q('doomed')}`))).status).toBe(204);
    expect(await sh(api, owner, projectId, 'test -L doomed || echo gone')).toBe('gone');
    await expectHostUntouched();
  });

  it('does not hang on a FIFO', async () => {
    const response = await request('GET', filesUrl(`/content?${q('pipe')}`));
    expect(response.status).toBe(400);
  });

  it('lists symlinks without following them', async () => {
    const tree = await request('GET', filesUrl('/tree?depth=1'));
    const root = tree.json.tree.children.find((c: any) => c.name === 'root');
    expect(root).toMatchObject({ type: 'symlink', target: '/' });
    expect(root.children).toBeUndefined();
  });
});

describe('hostile archives', () => {
  const upload = async (entries: TarEntry[], p = 'arch') =>
    request('PUT', filesUrl(`/archive?${q(p)}`), await makeTar(entries), { 'content-type': 'application/x-tar' });

  it.each<[string, TarEntry[]]>([
    ['a ../ entry', [{ name: 'ok.txt', content: 'fine' }, { name: '../evil', content: 'pwned' }]],
    ['a deep ../ entry', [{ name: 'ok.txt', content: 'fine' }, { name: 'a/../../../../tmp/evil', content: 'pwned' }]],
    ['an absolute entry', [{ name: 'ok.txt', content: 'fine' }, { name: '/tmp/evil', content: 'pwned' }]],
    ['a symlink to /etc', [{ name: 'ok.txt', content: 'fine' }, { name: 'etc', type: 'symlink', linkname: '/etc' }]],
    ['a relative symlink outside', [{ name: 'ok.txt', content: 'fine' }, { name: 'out', type: 'symlink', linkname: '../../..' }]],
    ['a symlink through /workspace/..', [{ name: 'ok.txt', content: 'fine' }, { name: 'w', type: 'symlink', linkname: '/workspace/../etc' }]],
    ['a hard link to a host file', [{ name: 'ok.txt', content: 'fine' }, { name: 'pw', type: 'link', linkname: '/etc/passwd' }]],
    ['a symlink then a file through it', [{ name: 'ok.txt', content: 'fine' }, { name: 'e', type: 'symlink', linkname: '/etc' }, { name: 'e/evil', content: 'pwned' }]],
  ])('refuses %s whole, writing nothing', async (_label, entries) => {
    const response = await upload(entries);
    expect(response.status, response.text).toBe(400);
    expect(await sh(api, owner, projectId, 'test -e arch/ok.txt || echo nothing')).toBe('nothing');
    await expectHostUntouched();
  });

  it('stops at a sandbox symlink on the way out', async () => {
    const response = await upload([{ name: 'root/tmp/evil', content: 'pwned' }], '');
    // Extraction follows no link at all: where the archive has a directory, a link is a conflict.
    expect(response.status, response.text).toBe(409);
    expect(response.json.error.code).toBe('CONFLICT');
    await expectHostUntouched();
  });

  it('counts hard links against the size cap: a small archive cannot write a large tree', async () => {
    const mib = randomBytes(1024 * 1024);
    const links = Array.from({ length: 120 }, (_, i): TarEntry => ({ name: `copy-${i}`, type: 'link', linkname: 'big.bin' }));
    const archive = await makeTar([{ name: 'big.bin', content: mib }, ...links]);
    expect(archive.length).toBeLessThan(2 * 1024 * 1024);
    const response = await request('PUT', filesUrl(`/archive?${q('bomb')}`), archive, { 'content-type': 'application/x-tar' });
    expect(response.status, response.text).toBe(413);
    expect(response.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await sh(api, owner, projectId, 'test -e bomb || echo nothing')).toBe('nothing');
  });

  it.each<[string, TarEntry[]]>([
    ['a file through a link of the archive', [{ name: 'ok.txt', content: 'fine' }, { name: 'd', type: 'symlink', linkname: '..' }, { name: 'd/escaped.txt', content: 'out' }]],
    ['a link through a link of the archive', [{ name: 'ok.txt', content: 'fine' }, { name: 'd', type: 'symlink', linkname: '.' }, { name: 'd/e', type: 'symlink', linkname: '..' }, { name: 'd/e/escaped.txt', content: 'out' }]],
    ['a directory through a link of the archive', [{ name: 'ok.txt', content: 'fine' }, { name: 'd', type: 'symlink', linkname: '..' }, { name: 'd/escaped.txt/', type: 'directory' }]],
    ['a hard link to a link of the archive', [{ name: 'ok.txt', content: 'fine' }, { name: 'd', type: 'symlink', linkname: '../src/a.txt' }, { name: 'h', type: 'link', linkname: 'd' }]],
    ['a file where the archive has a directory', [{ name: 'ok.txt', content: 'fine' }, { name: 'x/y', content: 'y' }, { name: 'x', content: 'x' }]],
  ])('refuses %s, writing nothing inside or outside the directory', async (_label, entries) => {
    const response = await upload(entries, 'chain');
    expect(response.status, response.text).toBe(400);
    expect(await sh(api, owner, projectId, 'test -e chain || test -e escaped.txt || echo nothing')).toBe('nothing');
  });

  it('does not follow a link of the workspace out of the requested directory', async () => {
    await sh(api, owner, projectId, 'mkdir -p target elsewhere && ln -s ../elsewhere target/sub');
    const response = await upload([{ name: 'first.txt', content: 'first' }, { name: 'sub/f.txt', content: 'out' }], 'target');
    expect(response.status, response.text).toBe(409);
    expect(await sh(api, owner, projectId, 'ls -A elsewhere; ls -A target')).toBe('sub');
  });

  it('changes nothing when an entry late in the archive is refused', async () => {
    await sh(api, owner, projectId, 'mkdir -p late/x && echo old > late/keep.txt');
    const response = await upload(
      [{ name: 'keep.txt', content: 'new' }, { name: 'first.txt', content: 'first' }, { name: 'x', content: 'not a directory' }],
      'late',
    );
    expect(response.status, response.text).toBe(409);
    expect(await sh(api, owner, projectId, 'cat late/keep.txt; ls -A late')).toBe('old\nkeep.txt\nx');
    expect(await sh(api, owner, projectId, 'ls -A | grep -c vf-upload || true')).toBe('0');
  });

  it('replaces what is there, and puts it all back when a move into place fails', async () => {
    await sh(api, owner, projectId, 'mkdir -p over/sub && echo old > over/a.txt && ln -s a.txt over/link');
    const replaced = await upload([{ name: 'a.txt', content: 'new' }, { name: 'link', type: 'symlink', linkname: 'sub' }], 'over');
    expect(replaced.status, replaced.text).toBe(200);
    expect(await sh(api, owner, projectId, 'cat over/a.txt; echo; readlink over/link')).toBe('new\nsub');
    // A directory the API cannot write in (immutable, set on the host) makes the last move fail.
    const sub = path.join(hostDir, 'over', 'sub');
    execFileSync('chattr', ['+i', sub]);
    try {
      const failed = await upload([{ name: 'a.txt', content: 'newer' }, { name: 'c.txt', content: 'c' }, { name: 'sub/b.txt', content: 'b' }], 'over');
      expect(failed.status, failed.text).toBe(409);
    } finally {
      execFileSync('chattr', ['-i', sub]);
    }
    expect(await sh(api, owner, projectId, 'cat over/a.txt; echo; ls -A over over/sub; ls -A | grep -c vf-upload || true')).toBe('new\nover:\na.txt\nlink\nsub\n\nover/sub:\n0');
  });

  it('accepts links that stay inside', async () => {
    const response = await upload([
      { name: 'd/file.txt', content: 'hi' },
      { name: 'd/rel', type: 'symlink', linkname: 'file.txt' },
      { name: 'd/abs', type: 'symlink', linkname: '/workspace/src/a.txt' },
      { name: 'd/copy', type: 'link', linkname: 'd/file.txt' },
    ]);
    expect(response.status, response.text).toBe(200);
    expect(await sh(api, owner, projectId, 'cat arch/d/rel arch/d/abs arch/d/copy')).toBe('hiinsidehi');
  });
});
