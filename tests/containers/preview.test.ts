import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { previewFetch as fetchPreview } from '../helpers/preview.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, exec, sh, startProcess } from '../helpers/sandbox.js';

/** The app under preview: a page with a script of its own, an echo, and a WebSocket that says hello. */
const APP = String.raw`
const http = require('http'), crypto = require('crypto');
const server = http.createServer((q, r) => {
  if (q.url === '/') { r.setHeader('content-type', 'text/html'); return r.end('<html><head><title>x</title><script src="app.js"></script></head><body>hi</body></html>'); }
  if (q.url === '/app.js') { r.setHeader('content-type', 'text/javascript'); return r.end('document.title = "loaded";'); }
  let body = ''; q.on('data', (c) => (body += c));
  q.on('end', () => r.end(JSON.stringify({ method: q.method, url: q.url, body, cookie: q.headers.cookie || null, authorization: q.headers.authorization || null })));
});
server.on('upgrade', (q, socket) => {
  const accept = crypto.createHash('sha1').update(q.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  socket.write(Buffer.concat([Buffer.from([0x81, 5]), Buffer.from('hello')]));
});
server.listen(3000);
`;

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
let origin: string;

async function openPreview(user: SignedIn, id: string): Promise<{ url: string; origin: string }> {
  const response = await api.post(`/api/v1/projects/${id}/preview`, { token: user.accessToken });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** A request to the preview origin of this test's app. */
function previewFetch(url: string, options?: Parameters<typeof fetchPreview>[2]) {
  return fetchPreview(t.baseUrl, url, options);
}

let serverId: string;
async function startServer(): Promise<void> {
  serverId = await startProcess(api, owner, projectId, 'node server.js');
  await sh(api, owner, projectId, 'for i in $(seq 50); do curl -s localhost:3000/ping >/dev/null && exit 0; sleep 0.1; done; exit 1');
}

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'preview');
  projectId = await createProject(api, owner);
  await exec(api, owner, projectId, 'cat > server.js', { stdin: APP });
  await startServer();
  ({ origin } = await openPreview(owner, projectId));
});
afterAll(async () => {
  await t?.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

describe('preview', () => {
  it('has an origin of its own per person and project, never the API\'s, and keeps it', async () => {
    const port = new URL(t.baseUrl).port;
    expect(origin).toMatch(new RegExp(`^http://[a-z2-7]{26}\\.preview\\.localhost:${port}$`));
    expect((await openPreview(owner, projectId)).origin).toBe(origin);
    const reader = await signUp(api, 'preview-other');
    await api.post(`/api/v1/projects/${projectId}/members`, { token: owner.accessToken, body: { email: reader.email, role: 'read' } });
    expect((await openPreview(reader, projectId)).origin).not.toBe(origin);
  });

  it("serves the sandbox's preview port with the app's own headers, none of the API's", async () => {
    const page = await previewFetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script src="app.js">');
    expect(page.headers['content-security-policy']).toBeUndefined();
    expect(page.headers['x-request-id']).toBeUndefined();
    expect(page.headers['referrer-policy']).toBe('no-referrer');
  });

  it('adds the bridge that reports the app\'s errors to the IDE, to pages only', async () => {
    const page = await previewFetch(`${origin}/`, { headers: { accept: 'text/html', 'accept-encoding': 'gzip' } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<head><script src="/__vaporform/bridge.js"></script><title>x</title>');
    expect(Number(page.headers['content-length'])).toBe(Buffer.byteLength(page.text));
    const script = await previewFetch(`${origin}/__vaporform/bridge.js`);
    expect(script.headers['content-type']).toContain('javascript');
    expect(script.text).toContain('vaporform.preview.error');
    const asset = await previewFetch(`${origin}/app.js`, { headers: { accept: '*/*' } });
    expect(asset.text).toBe('document.title = "loaded";');
  });

  it('never serves the API or the IDE on a preview origin', async () => {
    const me = await previewFetch(`${origin}/api/v1/auth/me`, { headers: { authorization: `Bearer ${owner.accessToken}` } });
    // The app answered (its echo), not the API, and it never saw the bearer token.
    expect(JSON.parse(me.text)).toEqual({ method: 'GET', url: '/api/v1/auth/me', body: '', cookie: null, authorization: null });
  });

  it("passes method, path, query, body and the app's own cookies through, and none of our credentials", async () => {
    const response = await previewFetch(`${origin}/api/echo?x=1`, {
      method: 'POST',
      headers: { cookie: 'app_session=42', 'content-type': 'application/json', authorization: `Bearer ${owner.accessToken}` },
      body: '{"hello":"app"}',
    });
    expect(JSON.parse(response.text)).toEqual({
      method: 'POST',
      url: '/api/echo?x=1',
      body: '{"hello":"app"}',
      cookie: 'app_session=42',
      authorization: null,
    });
  });

  it('proxies WebSockets (hot reload)', async () => {
    const socket = new WebSocket(`${t.baseUrl.replace('http', 'ws')}/hmr`, { headers: { host: new URL(origin).host } });
    const message = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data) => resolve(data.toString()));
      socket.once('error', reject);
    });
    socket.close();
    expect(message).toBe('hello');
  });

  it('refuses unknown and retired addresses, and people who cannot read the project', async () => {
    const port = new URL(t.baseUrl).port;
    expect((await previewFetch(`http://${'a'.repeat(26)}.preview.localhost:${port}/`)).status).toBe(404);
    expect((await previewFetch(`http://not-a-label.preview.localhost:${port}/`)).status).toBe(404);
    const stranger = await signUp(api, 'preview-stranger');
    expect((await api.post(`/api/v1/projects/${projectId}/preview`, { token: stranger.accessToken })).status).toBe(404);

    const reader = await signUp(api, 'preview-rotate');
    await api.post(`/api/v1/projects/${projectId}/members`, { token: owner.accessToken, body: { email: reader.email, role: 'read' } });
    const first = await openPreview(reader, projectId);
    expect((await previewFetch(`${first.origin}/`)).status).toBe(200);
    expect((await api.delete(`/api/v1/projects/${projectId}/preview`, { token: reader.accessToken })).status).toBe(204);
    const retired = await previewFetch(`${first.origin}/`, { headers: { accept: 'text/html' } });
    expect(retired.status).toBe(404);
    expect(retired.text).toContain('open the preview from the IDE');
    expect((await openPreview(reader, projectId)).origin).not.toBe(first.origin);
  });

  it('stops serving someone whose access was removed', async () => {
    const reader = await signUp(api, 'preview-reader');
    await api.post(`/api/v1/projects/${projectId}/members`, { token: owner.accessToken, body: { email: reader.email, role: 'read' } });
    const theirs = await openPreview(reader, projectId);
    expect((await previewFetch(`${theirs.origin}/`)).status).toBe(200);
    await api.delete(`/api/v1/projects/${projectId}/members/${reader.userId}`, { token: owner.accessToken });
    expect((await previewFetch(`${theirs.origin}/`)).status).toBe(404);
  });

  it('says clearly when nothing listens on the preview port, which is a project setting', async () => {
    const patched = await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { previewPort: 3999 } });
    expect(patched.body.previewPort).toBe(3999);
    // Nothing listens anywhere (with a server up, the preview would follow it: processes.test.ts).
    const stopped = await api.post(`/api/v1/projects/${projectId}/processes/${serverId}/stop`, { token: owner.accessToken });
    expect(stopped.status, stopped.text).toBe(200);
    try {
      const response = await previewFetch(`${origin}/`);
      expect(response.status).toBe(502);
      expect((JSON.parse(response.text) as { error: { code: string } }).error.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { previewPort: 3000 } });
      await startServer();
    }
  });

  it('runs in a real browser at its own origin, the page loading its own script', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${origin}/`);
      await expect.poll(() => page.title()).toBe('loaded');
    } finally {
      await browser?.close();
    }
  });
});
