/**
 * The browser IDE end to end: a real Chromium (Debian's, driven by playwright-core) against the real API
 * serving a freshly built IDE. Account, project, live activity over the WebSocket, sign-out and back in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../services/auth/tokens.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, uniqueEmail } from '../helpers/http.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let distDir: string;
let testApp: TestApp;
let browser: Browser;
let page: Page;
/** Console errors and uncaught exceptions of the page (CSP violations show up here too). */
const pageErrors: string[] = [];

beforeAll(async () => {
  distDir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-ide-'));
  await build({ root: path.join(repoRoot, 'ide'), build: { outDir: distDir, emptyOutDir: true }, logLevel: 'warn' });
  testApp = await startTestApp({ env: { IDE_DIST_DIR: distDir } });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  page.on('console', (message) => {
    // A refused sign-in is a 401 the page handles; Chromium still logs the failed load.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      pageErrors.push(`console: ${message.text()}`);
    }
  });
});

afterAll(async () => {
  await browser?.close();
  await testApp?.close();
  if (distDir) await rm(distDir, { recursive: true, force: true });
});

const byTestId = (id: string) => page.getByTestId(id);

interface StoredSession {
  accessToken: string;
  refreshToken: string;
}

// The page's localStorage, reached through expression strings: the tests' tsconfig has no DOM types.
const SESSION_KEY = JSON.stringify('vaporform.session');

async function storedSession(): Promise<StoredSession | null> {
  const raw = await page.evaluate<string | null>(`localStorage.getItem(${SESSION_KEY})`);
  return raw ? (JSON.parse(raw) as StoredSession) : null;
}

async function storeSession(session: object): Promise<void> {
  await page.evaluate(`localStorage.setItem(${SESSION_KEY}, ${JSON.stringify(JSON.stringify(session))})`);
}

async function accessToken(): Promise<string> {
  const session = await storedSession();
  if (!session) throw new Error('no session in localStorage');
  return session.accessToken;
}

describe('browser IDE', () => {
  it('signs up, creates a project, shows live activity, signs out and back in', { timeout: 90_000 }, async () => {
    const api = new ApiClient(testApp.baseUrl);
    const email = uniqueEmail('ide');
    const password = 'correct horse battery';

    // Create an account through the form.
    await page.goto(testApp.baseUrl);
    await byTestId('auth-screen').waitFor();
    await byTestId('show-register').click();
    await byTestId('auth-name').fill('Ada Lovelace');
    await byTestId('auth-email').fill(email);
    await byTestId('auth-password').fill(password);
    await byTestId('auth-submit').click();
    await byTestId('projects-empty').waitFor();
    expect(await byTestId('current-user').textContent()).toBe('Ada Lovelace');

    // Create a project through the two-step dialog; it appears in the list.
    await byTestId('new-project').click();
    await byTestId('new-project-name').fill('Todo Tracker');
    await byTestId('new-project-description').fill('Tasks with due dates');
    await byTestId('new-project-next').click();
    await byTestId('stack-python').check();
    await byTestId('new-project-create').click();
    await byTestId('new-project-dialog').waitFor({ state: 'detached' });
    const row = byTestId('project-row').filter({ hasText: 'Todo Tracker' });
    await row.waitFor();
    expect(await row.getByTestId('project-stack').textContent()).toBe('Python');
    expect(await row.getByTestId('project-role').textContent()).toBe('owner');
    const projectId = await row.getAttribute('data-project-id');
    expect(projectId).toMatch(/^[0-9a-f-]{36}$/);

    // The list survives a reload (it comes from the API, not from page state).
    await page.reload();
    await byTestId('project-row').filter({ hasText: 'Todo Tracker' }).waitFor();

    // Open it: header, members, and the activity stream goes live.
    await byTestId('project-row').filter({ hasText: 'Todo Tracker' }).getByTestId('project-link').click();
    await byTestId('project-screen').waitFor();
    expect(page.url()).toContain(`#/projects/${projectId}`);
    expect(await byTestId('project-name').textContent()).toBe('Todo Tracker');
    expect(await byTestId('project-header').getByTestId('project-role').textContent()).toBe('owner');
    await byTestId('member-row').filter({ hasText: email }).waitFor();
    await page.locator('[data-testid="activity-status"][data-state="live"]').waitFor();
    expect(await byTestId('workspace-placeholder').textContent()).toContain('Editor, terminal and preview arrive');

    // A change made through the API (with the page's own token) arrives live, and the header follows it.
    const token = await accessToken();
    const patched = await api.patch(`/api/v1/projects/${projectId}`, { token, body: { name: 'Todo Tracker Pro' } });
    expect(patched.status).toBe(200);
    const updatedItem = page.locator('[data-testid="activity-item"][data-event-type="project.updated"]');
    await updatedItem.waitFor();
    expect(await updatedItem.getByTestId('activity-actor').textContent()).toBe('You');
    expect(await updatedItem.textContent()).toContain('changed name');
    await page.locator('[data-testid="project-name"]', { hasText: 'Todo Tracker Pro' }).waitFor();

    // Invite a second account through the members panel; the event lists newest first.
    const teammate = await signUp(api, 'teammate');
    await byTestId('invite-email').fill(teammate.email);
    await byTestId('invite-role').selectOption('read');
    await byTestId('invite-submit').click();
    await byTestId('member-row').filter({ hasText: teammate.email }).waitFor();
    await page.locator('[data-testid="activity-item"][data-event-type="member.added"]').waitFor();
    const types = await byTestId('activity-type').allTextContents();
    expect(types.slice(0, 2)).toEqual(['member.added', 'project.updated']);

    await page.screenshot({ path: '/tmp/ide-project.png' });

    // Sign out: the server forgets the refresh token, the page shows the sign-in form.
    const { refreshToken } = (await storedSession())!;
    await byTestId('sign-out').click();
    await byTestId('login-form').waitFor();
    expect(await storedSession()).toBeNull();
    const reuse = await api.post('/api/v1/auth/refresh', { body: { refreshToken } });
    expect(reuse.status).toBe(401);

    // A wrong password shows the API's message and keeps the user on the form.
    await byTestId('auth-email').fill(email);
    await byTestId('auth-password').fill('not the password');
    await byTestId('auth-submit').click();
    await byTestId('auth-error').waitFor();
    expect(await byTestId('auth-error').textContent()).toBe('The email or password is wrong');
    expect(await storedSession()).toBeNull();

    // The right password signs back in, to the projects list.
    await byTestId('auth-password').fill(password);
    await byTestId('auth-submit').click();
    await byTestId('project-row').filter({ hasText: 'Todo Tracker Pro' }).waitFor();
    expect(page.url()).toContain('#/projects');

    // Delete asks first: Cancel keeps the project, confirming removes it for good.
    const pro = byTestId('project-row').filter({ hasText: 'Todo Tracker Pro' });
    await pro.getByTestId('project-delete').click();
    await byTestId('confirm-cancel').click();
    await byTestId('confirm-dialog').waitFor({ state: 'detached' });
    expect(await pro.count()).toBe(1);
    await pro.getByTestId('project-delete').click();
    await byTestId('confirm-ok').click();
    await byTestId('projects-empty').waitFor();
    expect((await api.get(`/api/v1/projects/${projectId}`, { token: await accessToken() })).status).toBe(404);

    expect(pageErrors).toEqual([]);
  });

  it('refreshes an expired access token once, and signs out when the refresh fails', async () => {
    const api = new ApiClient(testApp.baseUrl);
    const user = await signUp(api, 'expired');
    const created = await api.post('/api/v1/projects', { token: user.accessToken, body: { name: 'Refresh Me', stack: 'go' } });
    expect(created.status).toBe(201);
    // An access token that expired an hour ago, signed with the app's own secret: the API says TOKEN_EXPIRED.
    const expired = signAccessToken(user.userId, testApp.config.auth.jwtSecret, 60, Date.now() - 3600_000);
    // Same tab, so the running page sees no storage event; a full navigation then starts from the new value.
    let visit = 0;
    const stored = async (session: object) => {
      await storeSession(session);
      visit += 1;
      await page.goto(`${testApp.baseUrl}/?visit=${visit}#/projects`);
    };
    const me = { id: user.userId, email: user.email, name: 'expired', createdAt: new Date().toISOString() };

    await stored({ user: me, accessToken: expired, refreshToken: user.refreshToken, accessExpiresAt: Date.now() + 600_000 });
    await byTestId('project-row').filter({ hasText: 'Refresh Me' }).waitFor();
    const session = (await storedSession())!;
    expect(session.accessToken).not.toBe(expired);
    expect(session.refreshToken).not.toBe(user.refreshToken);

    // The old refresh token is spent: presenting it fails, and the page signs out instead of looping.
    await stored({ user: me, accessToken: expired, refreshToken: user.refreshToken, accessExpiresAt: Date.now() + 600_000 });
    await byTestId('login-form').waitFor();
    expect(await storedSession()).toBeNull();
    expect(pageErrors).toEqual([]);
  });
});
