/**
 * The workbench in a real Chromium against the real stack (sandbox included): the explorer creates a file
 * that opens in Monaco, Ctrl-S saves it to the workspace, a change made through the API reaches the open
 * editor, a second browser sees the first one's save, a dirty editor shows the conflict, the preview shows
 * a page served by a process in the sandbox, and the wizard creates a project from a template.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildIde, launchChromium } from '../helpers/browser.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createWithWizard, editorText, newIdePage, screenshot, signIn } from '../helpers/ide-page.js';
import { eventually } from '../helpers/poll.js';
import { exec, sh, startProcess } from '../helpers/sandbox.js';

const PASSWORD = 'correct horse battery';

let ide: Awaited<ReturnType<typeof buildIde>>;
let t: TestApp;
let api: ApiClient;
let browser: Browser;
let owner: SignedIn;
let projectId: string;
const pageErrors: string[] = [];
const projects: string[] = [];

async function newPage(): Promise<Page> {
  const page = await newIdePage(browser, pageErrors);
  await signIn(page, t.baseUrl, owner.email, PASSWORD);
  return page;
}

async function openProject(page: Page, id: string): Promise<void> {
  await page.goto(`${t.baseUrl}/#/projects/${id}`);
  await page.getByTestId('project-screen').waitFor();
}

const content = async (path: string) =>
  (await api.get(`/api/v1/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`, { token: owner.accessToken })).text;

async function writeThroughApi(path: string, text: string): Promise<void> {
  const response = await api.request('PUT', `/api/v1/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`, {
    token: owner.accessToken,
    rawBody: text,
    headers: { 'content-type': 'application/octet-stream' },
  });
  expect(response.status, response.text).toBeLessThan(300);
}

beforeAll(async () => {
  ide = await buildIde();
  t = await startTestApp({ env: { IDE_DIST_DIR: ide.distDir } });
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'workbench', PASSWORD);
  const created = await api.post('/api/v1/projects', { token: owner.accessToken, body: { name: 'Notes App', stack: 'node', description: 'Notes with tags' } });
  expect(created.status).toBe(201);
  projectId = created.body.id;
  projects.push(projectId);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  for (const id of projects) await t?.services.sandboxes.destroy(id).catch(() => {});
  await t?.close();
  await ide?.remove();
});

describe('workbench', () => {
  let first: Page;
  let second: Page;

  it('creates a file in the explorer, edits it in Monaco and saves it with Ctrl-S', { timeout: 120_000 }, async () => {
    first = await newPage();
    await openProject(first, projectId);
    // Opening the project starts its sandbox; the explorer lists the (empty) workspace.
    await first.locator('[data-testid="sandbox-state"]', { hasText: 'Running' }).waitFor({ timeout: 60_000 });
    await first.getByTestId('file-tree').waitFor();

    await first.getByTestId('new-file').click();
    await first.getByTestId('prompt-input').fill('src/notes.js');
    await first.getByTestId('prompt-ok').click();
    await first.locator('[data-testid="tree-row"][data-path="src/notes.js"]').waitFor();
    await first.locator('[data-testid="editor-tab"][data-path="src/notes.js"]').waitFor({ timeout: 60_000 });
    await first.locator('[data-testid="monaco-host"] .monaco-editor').waitFor({ timeout: 60_000 });

    await first.locator('[data-testid="monaco-host"] .view-lines').click();
    await first.keyboard.type('const notes = [];\n');
    await first.locator('[data-testid="editor-tab"][data-dirty="true"]').waitFor();
    await first.keyboard.press('Control+s');
    await first.locator('[data-testid="editor-tab"][data-path="src/notes.js"][data-dirty="false"]').waitFor();
    expect(await content('src/notes.js')).toBe('const notes = [];\n');
    await screenshot(first, 'workbench-editor');
  });

  it('updates a clean open editor at once when the file changes through the API', { timeout: 60_000 }, async () => {
    await writeThroughApi('src/notes.js', 'const notes = ["from the API"];\n');
    await eventually(async () => (await editorText(first)).includes('from the API'), 'the editor shows the change');
    expect(await first.locator('[data-testid="editor-tab"][data-path="src/notes.js"]').getAttribute('data-dirty')).toBe('false');
  });

  it("shows one browser's save in another browser's open editor", { timeout: 90_000 }, async () => {
    second = await newPage();
    await openProject(second, projectId);
    await second.locator('[data-testid="tree-row"][data-path="src"]').click();
    await second.locator('[data-testid="tree-row"][data-path="src/notes.js"]').click();
    await second.locator('[data-testid="monaco-host"] .monaco-editor').waitFor();
    await eventually(async () => (await editorText(second)).includes('from the API'), 'the second editor shows the file');

    await first.locator('[data-testid="monaco-host"] .view-lines').click();
    await first.keyboard.press('Control+End');
    await first.keyboard.type('// saved by the first browser\n');
    await first.keyboard.press('Control+s');
    await eventually(async () => (await editorText(second)).includes('saved by the first browser'), "the second browser shows the first one's save");
    await first.locator('[data-testid="editor-tab"][data-path="src/notes.js"][data-dirty="false"]').waitFor();
    expect(await content('src/notes.js')).toContain('saved by the first browser');
  });

  it('shows a conflict in a dirty editor and takes theirs on request', { timeout: 60_000 }, async () => {
    await second.locator('[data-testid="monaco-host"] .view-lines').click();
    await second.keyboard.press('Control+End');
    await second.keyboard.type('// unsaved in the second browser');
    await second.locator('[data-testid="editor-tab"][data-dirty="true"]').waitFor();
    await writeThroughApi('src/notes.js', 'export const notes = [];\n');
    await second.getByTestId('conflict-bar').waitFor();
    await screenshot(second, 'workbench-conflict');
    await second.getByTestId('conflict-take-theirs').click();
    await second.getByTestId('conflict-bar').waitFor({ state: 'hidden' });
    await eventually(async () => (await editorText(second)).includes('export const notes'), 'the editor took their version');
    expect(await editorText(second)).not.toContain('unsaved in the second browser');

    // Saving over a version that changed meanwhile is refused, and shown, not silently lost.
    await second.locator('[data-testid="monaco-host"] .view-lines').click();
    await second.keyboard.press('Control+End');
    await second.keyboard.type('// mine');
    await writeThroughApi('src/notes.js', 'export const notes = ["theirs"];\n');
    await second.getByTestId('conflict-bar').waitFor();
    await second.getByTestId('conflict-keep-mine').click();
    await second.getByTestId('conflict-bar').waitFor({ state: 'hidden' });
    await eventually(async () => (await content('src/notes.js')).includes('// mine'), 'keep mine wrote the editor text');

    // The first browser, clean all along, follows every one of those changes and stays clean.
    await eventually(async () => (await editorText(first)).includes('// mine'), 'the first browser follows');
    expect(await first.locator('[data-testid="editor-tab"][data-path="src/notes.js"]').getAttribute('data-dirty')).toBe('false');
  });

  it('opens files with quick open and runs commands from the palette', { timeout: 30_000 }, async () => {
    await writeThroughApi('README.md', '# Notes\n');
    await first.locator('[data-testid="tree-row"][data-path="README.md"]').waitFor();
    await first.keyboard.press('Control+p');
    await first.getByTestId('quick-open').waitFor();
    await first.getByTestId('palette-input').fill('readme');
    await first.keyboard.press('Enter');
    await first.locator('[data-testid="editor-tab"][data-path="README.md"]').waitFor();

    await first.keyboard.press('Control+Shift+p');
    await first.getByTestId('command-palette').waitFor();
    await first.getByTestId('palette-input').fill('toggle terminal');
    await screenshot(first, 'workbench-palette');
    await first.keyboard.press('Enter');
    await first.getByTestId('terminal-panel').waitFor();
    await first.keyboard.press('Control+Backquote');
    await first.getByTestId('terminal-panel').waitFor({ state: 'hidden' });
  });

  it('renames, moves and deletes from the explorer', { timeout: 60_000 }, async () => {
    await writeThroughApi('draft.txt', 'draft');
    const row = first.locator('[data-testid="tree-row"][data-path="draft.txt"]');
    await row.hover();
    await row.getByTestId('tree-rename').click();
    await first.getByTestId('prompt-input').fill('src/final.txt');
    await first.getByTestId('prompt-ok').click();
    await first.locator('[data-testid="tree-row"][data-path="src/final.txt"]').waitFor();
    expect(await content('src/final.txt')).toBe('draft');

    const moved = first.locator('[data-testid="tree-row"][data-path="src/final.txt"]');
    await moved.hover();
    await moved.getByTestId('tree-delete').click();
    await first.getByTestId('confirm-ok').click();
    await moved.waitFor({ state: 'detached' });
    const gone = await api.get(`/api/v1/projects/${projectId}/files/content?path=src/final.txt`, { token: owner.accessToken });
    expect(gone.status).toBe(404);
  });

  it('shows the page a process in the sandbox serves, after saying nothing listens yet', { timeout: 90_000 }, async () => {
    await first.getByTestId('center-tab-preview').click();
    await first.locator('[data-testid="preview-panel"][data-state="waiting"]').waitFor({ timeout: 30_000 });
    await screenshot(first, 'workbench-preview-waiting');

    await writeThroughApi('public/index.html', '<!doctype html><title>Notes</title><h1>Hello from the sandbox</h1>');
    await exec(api, owner, projectId, 'cat > server.js', {
      stdin: `require('http').createServer((q, r) => { r.setHeader('content-type', 'text/html'); r.end(require('fs').readFileSync('public/index.html')); }).listen(3000);`,
    });
    await startProcess(api, owner, projectId, 'node server.js');
    await first.locator('[data-testid="preview-panel"][data-state="live"]').waitFor({ timeout: 30_000 });
    const frame = first.frameLocator('[data-testid="preview-frame"]');
    await frame.getByText('Hello from the sandbox').waitFor();
    // The toolbar says which process serves the page.
    await first.locator('[data-testid="preview-process"]', { hasText: 'node server.js · :3000' }).waitFor();
    expect(await first.getByTestId('preview-open-tab').getAttribute('href')).toMatch(/^http:\/\/[a-z2-7]{26}\.preview\.localhost:\d+\/$/);

    // A change to the files reloads the preview.
    await writeThroughApi('public/index.html', '<!doctype html><title>Notes</title><h1>Changed and reloaded</h1>');
    await frame.getByText('Changed and reloaded').waitFor();
    await screenshot(first, 'workbench-preview');
    await first.getByTestId('center-tab-code').click();
  });

  it('creates a project with the wizard from a template, then opens it', { timeout: 120_000 }, async () => {
    const page = first;
    await page.goto(`${t.baseUrl}/#/projects`);
    await createWithWizard(page, {
      name: 'Launch Page',
      description: 'A page for the launch',
      stack: 'node',
      postgres: true,
      redis: true,
      template: 'static-site',
      screenshotAs: 'wizard-template',
    });
    await page.getByTestId('new-project-progress').waitFor();
    await page.getByTestId('project-screen').waitFor({ timeout: 90_000 });
    const id = /#\/projects\/([0-9a-f-]{36})/.exec(page.url())?.[1];
    expect(id).toBeTruthy();
    projects.push(id!);
    await page.locator('[data-testid="tree-row"][data-path="public"]').waitFor();
    await page.locator('[data-testid="tree-row"][data-path="server.js"]').waitFor();
    const index = await api.get(`/api/v1/projects/${id}/files/content?path=public/index.html`, { token: owner.accessToken });
    expect(index.text).toContain('<h1>Launch Page</h1>');
    // Asked for in the wizard: the project's own PostgreSQL and Redis, named in the header, their addresses in every command.
    await page.getByTestId('project-postgres').waitFor();
    await page.getByTestId('project-redis').waitFor();
    expect((await api.get(`/api/v1/projects/${id}`, { token: owner.accessToken })).body.services).toEqual({ postgres: true, redis: true });
    const env = await api.post(`/api/v1/projects/${id}/exec`, {
      token: owner.accessToken,
      body: { command: 'echo "$PGHOST:$PGPORT/$PGDATABASE $REDIS_HOST:$REDIS_PORT"', timeoutMs: 10_000 },
    });
    expect(env.body.stdout).toBe('postgres:5432/app redis:6379\n');
    // An admin turns the Redis off from the palette, and on again: the header follows.
    for (const [command, on] of [["turn off the project's redis", false], ['turn on a redis', true]] as const) {
      await page.keyboard.press('Control+Shift+p');
      await page.getByTestId('command-palette').waitFor();
      await page.getByTestId('palette-input').fill(command);
      await page.keyboard.press('Enter');
      await page.getByTestId('project-redis').waitFor({ state: on ? 'visible' : 'hidden' });
      expect((await api.get(`/api/v1/projects/${id}`, { token: owner.accessToken })).body.services).toEqual({ postgres: true, redis: on });
    }
    await screenshot(page, 'wizard-created-project');
  });

  it('creates an HTTP API from the example model with the wizard: the IR written, the code generated', { timeout: 120_000 }, async () => {
    const page = first;
    await page.goto(`${t.baseUrl}/#/projects`);
    await createWithWizard(page, { name: 'Tasks API', stack: 'node', template: 'http-api' });
    await page.getByTestId('project-screen').waitFor({ timeout: 90_000 });
    const id = /#\/projects\/([0-9a-f-]{36})/.exec(page.url())?.[1];
    projects.push(id!);
    await page.locator('[data-testid="tree-row"][data-path="ir"]').waitFor();
    await page.locator('[data-testid="tree-row"][data-path="package.json"]').waitFor();
    const ir = await api.get(`/api/v1/projects/${id}/ir`, { token: owner.accessToken });
    expect(ir.body.valid).toBe(true);
    const main = await api.get(`/api/v1/projects/${id}/files/content?path=src/main.js`, { token: owner.accessToken });
    expect(main.status).toBe(200);
  });

  it('left no errors in the pages (CSP included)', () => {
    expect(pageErrors).toEqual([]);
  });
});
