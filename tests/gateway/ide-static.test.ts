/**
 * How the API serves the built IDE: the precompressed file the browser accepts (brotli, else gzip, else as
 * built), hashed assets cached for good, index.html and the favicon checked on each use (also when index.html
 * answers a client-side route), and the CSP that lets Monaco's workers and the preview frame work.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let dist: string;
const script = 'console.log("the IDE");'.repeat(200);

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(t.baseUrl + url, { headers });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

beforeAll(async () => {
  dist = await mkdtemp(path.join(os.tmpdir(), 'vaporform-ide-static-'));
  await mkdir(path.join(dist, 'assets'));
  await writeFile(path.join(dist, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>');
  await writeFile(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(path.join(dist, 'assets', 'index-abc123.js'), script);
  await writeFile(path.join(dist, 'assets', 'index-abc123.js.br'), brotliCompressSync(script));
  await writeFile(path.join(dist, 'assets', 'index-abc123.js.gz'), gzipSync(script));
  t = await startTestApp({ env: { IDE_DIST_DIR: dist } });
});

afterAll(async () => {
  await t?.close();
  await rm(dist, { recursive: true, force: true });
});

describe('the IDE, served', () => {
  it('serves hashed assets precompressed, by Accept-Encoding, and cached for good', async () => {
    const br = await get('/assets/index-abc123.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.status).toBe(200);
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('content-type')).toMatch(/javascript/);
    expect(br.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(br.headers.get('vary')).toMatch(/accept-encoding/i);
    // fetch undoes the content encoding: the text is the script again.
    expect(br.body.toString()).toBe(script);

    const gz = await get('/assets/index-abc123.js', { 'accept-encoding': 'gzip' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.body.toString()).toBe(script);

    const plain = await get('/assets/index-abc123.js', { 'accept-encoding': 'identity' });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.body.toString()).toBe(script);
  });

  it('has index.html and the favicon checked on each use, also for client-side routes', async () => {
    for (const url of ['/', '/favicon.svg']) {
      const response = await get(url);
      expect(response.status, url).toBe(200);
      expect(response.headers.get('cache-control'), url).toBe('no-cache');
    }
    const route = await get('/projects/123', { accept: 'text/html' });
    expect(route.status).toBe(200);
    expect(route.body.toString()).toContain('/assets/index-abc123.js');
    expect(route.headers.get('cache-control')).toBe('no-cache');
  });

  it("keeps a CSP with no inline scripts that lets Monaco's workers and the preview frame run", async () => {
    const csp = (await get('/')).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/worker-src 'self' blob:/);
    expect(csp).toMatch(/frame-src 'self' [^;]*preview/);
  });
});
