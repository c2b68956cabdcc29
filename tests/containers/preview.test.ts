import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, exec, sh } from '../helpers/sandbox.js';

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
let cookie: string;

async function openLink(user: SignedIn, id: string): Promise<string> {
  const response = await api.post(`/api/v1/projects/${id}/preview`, { token: user.accessToken });
  expect(response.status, response.text).toBe(200);
  return response.body.url;
}

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'preview');
  projectId = await createProject(api, owner);
  await exec(api, owner, projectId, 'cat > server.js', { stdin: APP });
  await sh(api, owner, projectId, 'nohup node server.js > /tmp/server.log 2>&1 &');
  await sh(api, owner, projectId, 'for i in $(seq 50); do curl -s localhost:3000/ping >/dev/null && exit 0; sleep 0.1; done; exit 1');
  const link = await openLink(owner, projectId);
  const first = await fetch(t.baseUrl + link, { redirect: 'manual' });
  expect(first.status).toBe(302);
  expect(first.headers.get('location')).toBe(`/preview/${projectId}/`);
  const setCookie = first.headers.get('set-cookie')!;
  expect(setCookie).toContain(`Path=/preview/${projectId}/`);
  expect(setCookie).toContain('HttpOnly');
  cookie = setCookie.split(';')[0]!;
});
afterAll(async () => {
  await t?.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

describe('preview', () => {
  it("serves the sandbox's preview port, under the app's own headers rather than the IDE's policy", async () => {
    const page = await fetch(`${t.baseUrl}/preview/${projectId}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="app.js">');
    expect(page.headers.get('content-security-policy')).toBeNull();
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('passes method, path, query and body through, and none of our credentials', async () => {
    const response = await fetch(`${t.baseUrl}/preview/${projectId}/api/echo?x=1`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', authorization: `Bearer ${owner.accessToken}` },
      body: '{"hello":"app"}',
    });
    expect(await response.json()).toEqual({
      method: 'POST',
      url: '/api/echo?x=1',
      body: '{"hello":"app"}',
      cookie: null,
      authorization: null,
    });
  });

  it('proxies WebSockets (hot reload)', async () => {
    const socket = new WebSocket(`${t.baseUrl.replace('http', 'ws')}/preview/${projectId}/hmr`, { headers: { cookie } });
    const message = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data) => resolve(data.toString()));
      socket.once('error', reject);
    });
    socket.close();
    expect(message).toBe('hello');
  });

  it('refuses the preview without a session, with a forged one, and to people who cannot read the project', async () => {
    expect((await fetch(`${t.baseUrl}/preview/${projectId}/`)).status).toBe(401);
    expect((await fetch(`${t.baseUrl}/preview/${projectId}/`, { headers: { cookie: 'vf_preview=forged' } })).status).toBe(401);
    const stranger = await signUp(api, 'preview-stranger');
    const theirProject = await createProject(api, stranger);
    const theirLink = await openLink(stranger, theirProject);
    const theirToken = new URL(theirLink, t.baseUrl).searchParams.get('vf_preview_token')!;
    // Their valid token for their project does not open ours.
    const crossed = await fetch(`${t.baseUrl}/preview/${projectId}/`, { headers: { cookie: `vf_preview=${theirToken}` } });
    expect(crossed.status).toBe(404);
    const link = await api.post(`/api/v1/projects/${projectId}/preview`, { token: stranger.accessToken });
    expect(link.status).toBe(404);
  });

  it('stops serving someone whose access was removed', async () => {
    const reader = await signUp(api, 'preview-reader');
    await api.post(`/api/v1/projects/${projectId}/members`, { token: owner.accessToken, body: { email: reader.email, role: 'read' } });
    const link = await openLink(reader, projectId);
    const readerCookie = (await fetch(t.baseUrl + link, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${t.baseUrl}/preview/${projectId}/`, { headers: { cookie: readerCookie } })).status).toBe(200);
    await api.delete(`/api/v1/projects/${projectId}/members/${reader.userId}`, { token: owner.accessToken });
    expect((await fetch(`${t.baseUrl}/preview/${projectId}/`, { headers: { cookie: readerCookie } })).status).toBe(404);
  });

  it('says clearly when nothing listens on the preview port, which is a project setting', async () => {
    const patched = await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { previewPort: 3999 } });
    expect(patched.body.previewPort).toBe(3999);
    try {
      const response = await fetch(`${t.baseUrl}/preview/${projectId}/`, { headers: { cookie } });
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await api.patch(`/api/v1/projects/${projectId}`, { token: owner.accessToken, body: { previewPort: 3000 } });
    }
  });

  it("runs in a real browser, the page's own requests carrying the preview session", async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
      const page = await browser.newPage();
      await page.goto(t.baseUrl + (await openLink(owner, projectId)));
      await expect.poll(() => page.title()).toBe('loaded');
    } finally {
      await browser?.close();
    }
  });
});
