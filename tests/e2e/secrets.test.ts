/**
 * The secrets panel in a real Chromium: a project secret and a personal one are added, changed and deleted end to
 * end; values are typed into password inputs and never shown back; a command in the sandbox gets the value.
 */
import { createHash } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildIde, launchChromium } from '../helpers/browser.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { collectPageErrors, screenshot, signIn } from '../helpers/ide-page.js';
import { eventually } from '../helpers/poll.js';
import { exec } from '../helpers/sandbox.js';

const PASSWORD = 'correct horse battery';
const VALUE = 'sk_live_panel_7c1e52d9';
const NEW_VALUE = 'sk_live_panel_changed_0a9b';
const MY_KEY = 'sk-ant-mine-3f0e9d1c';

let ide: Awaited<ReturnType<typeof buildIde>>;
let t: TestApp;
let api: ApiClient;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let owner: SignedIn;
let projectId: string;
const pageErrors: string[] = [];

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const row = (section: string, name: string) => page.locator(`[data-testid="${section}"] [data-testid="secret-row"][data-name="${name}"]`);

beforeAll(async () => {
  ide = await buildIde();
  t = await startTestApp({ env: { IDE_DIST_DIR: ide.distDir } });
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'secrets-panel', PASSWORD);
  const created = await api.post('/api/v1/projects', { token: owner.accessToken, body: { name: 'Shop', stack: 'node' } });
  expect(created.status).toBe(201);
  projectId = created.body.id;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(30_000);
  page = await context.newPage();
  collectPageErrors(page, pageErrors);
  await signIn(page, t.baseUrl, owner.email, PASSWORD);
}, 180_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close();
  await t?.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
  await ide?.remove();
});

describe('the secrets panel', () => {
  it('adds, changes and deletes project and personal secrets, never showing a value', { timeout: 120_000 }, async () => {
    await page.goto(`${t.baseUrl}/#/projects/${projectId}`);
    await page.getByTestId('project-screen').waitFor();
    await page.getByTestId('right-tab-secrets').click();
    await page.getByTestId('secrets-panel').waitFor();

    // A project secret.
    expect(await page.getByTestId('project-secrets-value').getAttribute('type')).toBe('password');
    await page.getByTestId('project-secrets-name').fill('STRIPE_KEY');
    await page.getByTestId('project-secrets-value').fill(VALUE);
    await page.getByTestId('project-secrets-description').fill('payments');
    await page.getByTestId('project-secrets-add').click();
    await row('project-secrets', 'STRIPE_KEY').waitFor();
    const fingerprint = await row('project-secrets', 'STRIPE_KEY').getByTestId('secret-fingerprint').innerText();
    expect(fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(await page.getByTestId('project-secrets-value').inputValue()).toBe('');
    // The sandbox's commands get it.
    expect((await exec(api, owner, projectId, 'printf %s "$STRIPE_KEY" | sha256sum')).stdout.split(' ')[0]).toBe(sha256(VALUE));

    // A bad name is refused with a message, nothing sent.
    await page.getByTestId('project-secrets-name').fill('lower-case');
    await page.getByTestId('project-secrets-value').fill('whatever');
    await page.getByTestId('project-secrets-add').click();
    await page.getByTestId('project-secrets-error').waitFor();
    // A duplicate: the API's message.
    await page.getByTestId('project-secrets-name').fill('STRIPE_KEY');
    await page.getByTestId('project-secrets-add').click();
    await page.locator('[data-testid="project-secrets-error"]', { hasText: 'exists already' }).waitFor();

    // Changed: a new value (password input), a new fingerprint.
    await row('project-secrets', 'STRIPE_KEY').getByTestId('secret-change').click();
    expect(await page.getByTestId('secret-edit-value').getAttribute('type')).toBe('password');
    await page.getByTestId('secret-edit-value').fill(NEW_VALUE);
    await page.getByTestId('secret-save').click();
    await eventually(
      async () => (await row('project-secrets', 'STRIPE_KEY').getByTestId('secret-fingerprint').innerText()) !== fingerprint,
      'the fingerprint changes',
    );
    expect((await exec(api, owner, projectId, 'printf %s "$STRIPE_KEY" | sha256sum')).stdout.split(' ')[0]).toBe(sha256(NEW_VALUE));

    // A personal secret, in the same panel.
    await page.getByTestId('my-secrets-name').fill('ANTHROPIC_API_KEY');
    await page.getByTestId('my-secrets-value').fill(MY_KEY);
    await page.getByTestId('my-secrets-add').click();
    await row('my-secrets', 'ANTHROPIC_API_KEY').waitFor();
    await screenshot(page, 'secrets-panel');

    // Nothing on the page, and nothing it fetched, holds a value.
    const html = await page.content();
    for (const value of [VALUE, NEW_VALUE, MY_KEY]) expect(html).not.toContain(value);

    // After a reload, the list comes from the API.
    await page.reload();
    await page.getByTestId('project-screen').waitFor();
    await page.getByTestId('right-tab-secrets').click();
    await row('project-secrets', 'STRIPE_KEY').waitFor();
    expect(await row('project-secrets', 'STRIPE_KEY').getByTestId('secret-description').innerText()).toBe('payments');

    // Deleted.
    await row('project-secrets', 'STRIPE_KEY').getByTestId('secret-delete').click();
    await page.getByTestId('confirm-ok').click();
    await row('project-secrets', 'STRIPE_KEY').waitFor({ state: 'detached' });
    await row('my-secrets', 'ANTHROPIC_API_KEY').getByTestId('secret-delete').click();
    await page.getByTestId('confirm-ok').click();
    await row('my-secrets', 'ANTHROPIC_API_KEY').waitFor({ state: 'detached' });
    const list = await api.get(`/api/v1/projects/${projectId}/secrets`, { token: owner.accessToken });
    expect(list.body.items).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
