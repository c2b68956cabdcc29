/**
 * The browser IDE end to end: a real Chromium (Debian's, driven by playwright-core) against the real API
 * serving a freshly built IDE. Account, project, live activity over the WebSocket, sign-out and back in.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildIde, launchChromium } from '../helpers/browser.js';
import { ApiClient, signUp, uniqueEmail } from '../helpers/http.js';
import { screenshot } from '../helpers/ide-page.js';

let ide: Awaited<ReturnType<typeof buildIde>>;
let testApp: TestApp;
let browser: Browser;
let page: Page;
/** Console errors and uncaught exceptions of the page (CSP violations show up here too). */
const pageErrors: string[] = [];

beforeAll(async () => {
  ide = await buildIde();
  testApp = await startTestApp({ env: { IDE_DIST_DIR: ide.distDir } });
  browser = await launchChromium();
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
  await ide?.remove();
});

const byTestId = (id: string) => page.getByTestId(id);

/** The HttpOnly refresh cookie the page holds (scripts cannot read it; the browser context can). */
async function refreshCookie(): Promise<string | undefined> {
  const cookies = await page.context().cookies(testApp.baseUrl + '/api/v1/auth');
  return cookies.find((cookie) => cookie.name === 'vf_refresh')?.value;
}

// Page storage, reached through expression strings: the tests' tsconfig has no DOM types.
async function pageStorage(): Promise<string> {
  return page.evaluate<string>('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })');
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

    // Create a project through the wizard; it opens, and appears in the list.
    await byTestId('new-project').click();
    await byTestId('new-project-name').fill('Todo Tracker');
    await byTestId('new-project-description').fill('Tasks with due dates');
    await byTestId('new-project-next').click();
    await byTestId('stack-python').check();
    await byTestId('new-project-next').click();
    await byTestId('template-empty').check();
    await byTestId('new-project-next').click();
    await byTestId('new-project-create').click();
    // The wizard opens the new project; back to the list.
    await byTestId('new-project-dialog').waitFor({ state: 'detached' });
    await byTestId('project-screen').waitFor();
    await page.locator('.crumbs a', { hasText: 'Projects' }).click();
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
    await byTestId('right-tab-team').click();
    await byTestId('member-row').filter({ hasText: email }).waitFor();
    await byTestId('right-tab-activity').click();
    await page.locator('[data-testid="activity-status"][data-state="live"]').waitFor();
    expect(await byTestId('editor-empty').textContent()).toContain('Open a file from the explorer');

    // No token is within a script's reach: not in storage, not in document.cookie.
    const storage = await pageStorage();
    expect(storage).not.toMatch(/eyJ|refresh|token/i);
    expect(await refreshCookie()).toMatch(/^[A-Za-z0-9_-]{20,}$/);

    // A change made through the API (by the same person, another session) arrives live, and the header follows it.
    const login = await api.post('/api/v1/auth/login', { body: { email, password } });
    const token: string = login.body.accessToken;
    const patched = await api.patch(`/api/v1/projects/${projectId}`, { token, body: { name: 'Todo Tracker Pro' } });
    expect(patched.status).toBe(200);
    const updatedItem = page.locator('[data-testid="activity-item"][data-event-type="project.updated"]');
    await updatedItem.waitFor();
    expect(await updatedItem.getByTestId('activity-actor').textContent()).toBe('You');
    expect(await updatedItem.textContent()).toContain('changed name');
    await page.locator('[data-testid="project-name"]', { hasText: 'Todo Tracker Pro' }).waitFor();

    // Invite a second account through the members panel; the event lists newest first.
    const teammate = await signUp(api, 'teammate');
    await byTestId('right-tab-team').click();
    await byTestId('invite-email').fill(teammate.email);
    await byTestId('invite-role').selectOption('read');
    await byTestId('invite-submit').click();
    await byTestId('member-row').filter({ hasText: teammate.email }).waitFor();
    await byTestId('right-tab-activity').click();
    await page.locator('[data-testid="activity-item"][data-event-type="member.added"]').waitFor();
    // Newest first (the sandbox's own events may come in between).
    const types = (await byTestId('activity-type').allTextContents()).filter((type) => !type.startsWith('sandbox.') && type !== 'file.changed');
    expect(types.slice(0, 2)).toEqual(['member.added', 'project.updated']);

    await screenshot(page, 'project-activity');

    // A reload keeps the person signed in (through the refresh cookie) on the same page.
    await page.reload();
    await byTestId('project-screen').waitFor();
    expect(page.url()).toContain(`#/projects/${projectId}`);
    // ...and the activity is not lost with it: the project's recent events are listed again, in the same order.
    await byTestId('right-tab-activity').click();
    await page.locator('[data-testid="activity-item"][data-event-type="member.added"]').waitFor();
    const replayed = (await byTestId('activity-type').allTextContents()).filter((type) => !type.startsWith('sandbox.') && type !== 'file.changed');
    expect(replayed).toEqual(['member.added', 'project.updated', 'project.created']);
    expect(await page.locator('[data-testid="activity-item"][data-event-type="project.created"]').textContent()).toContain('created the project');

    // Sign out: the server forgets the refresh token, the page shows the sign-in form.
    const refreshToken = (await refreshCookie())!;
    await byTestId('sign-out').click();
    await byTestId('login-form').waitFor();
    // The form shows at once; the server's answer that clears the cookie follows.
    await expect.poll(refreshCookie).toBeUndefined();
    const reuse = await api.post('/api/v1/auth/refresh', { body: { refreshToken } });
    expect(reuse.status).toBe(401);

    // A wrong password shows the API's message and keeps the user on the form.
    await byTestId('auth-email').fill(email);
    await byTestId('auth-password').fill('not the password');
    await byTestId('auth-submit').click();
    await byTestId('auth-error').waitFor();
    expect(await byTestId('auth-error').textContent()).toBe('The email or password is wrong');

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
    expect((await api.get(`/api/v1/projects/${projectId}`, { token })).status).toBe(404);

    expect(pageErrors).toEqual([]);
  });

  it('restores a session from the refresh cookie after a reload, and signs out when the cookie is spent', async () => {
    const api = new ApiClient(testApp.baseUrl);
    const user = await signUp(api, 'restore');
    const created = await api.post('/api/v1/projects', { token: user.accessToken, body: { name: 'Restore Me', stack: 'go' } });
    expect(created.status).toBe(201);
    const context = await browser.newContext();
    const tab = await context.newPage();
    try {
      const visit = async (refreshToken: string) => {
        await context.addCookies([
          { name: 'vf_refresh', value: refreshToken, domain: '127.0.0.1', path: '/api/v1/auth', httpOnly: true, sameSite: 'Strict' },
        ]);
        await tab.goto(`${testApp.baseUrl}/#/projects`);
        await tab.evaluate(`localStorage.setItem('vaporform.signedIn', '1')`);
        await tab.reload();
      };
      await visit(user.refreshToken);
      await tab.getByTestId('project-row').filter({ hasText: 'Restore Me' }).waitFor();
      const rotated = (await context.cookies(`${testApp.baseUrl}/api/v1/auth`)).find((c) => c.name === 'vf_refresh');
      expect(rotated?.value).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(rotated?.value).not.toBe(user.refreshToken);

      // The old refresh token is spent: presenting it fails, and the page signs out instead of looping.
      await visit(user.refreshToken);
      await tab.getByTestId('login-form').waitFor();
      expect(await tab.evaluate(`localStorage.getItem('vaporform.signedIn')`)).toBeNull();
    } finally {
      await context.close();
    }
    expect(pageErrors).toEqual([]);
  });
});
