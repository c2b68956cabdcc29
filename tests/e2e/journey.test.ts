/**
 * A person's first session, end to end in a real Chromium against the real stack (API, Temporal worker, the
 * scripted fake model, the project's sandbox): sign up, describe an app in the wizard with a first message to
 * the agent, watch it build (streamed text, tool cards), open what it wrote in Monaco, edit and save, see the
 * edit with `cat` in the terminal, see a change made through the API land in the open editor, serve the page
 * from a process started in the terminal and see it in the preview (which names that process), and see the
 * save of one browser in another. Screenshots of each key screen are kept under .data/artifacts/e2e.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTurn } from '../../services/agents/fake-model/index.js';
import { agentIdeSuite } from '../helpers/agent.js';
import { launchChromium } from '../helpers/browser.js';
import { ApiClient, uniqueEmail } from '../helpers/http.js';
import { createWithWizard, editorText, newIdePage, screenshot, signIn } from '../helpers/ide-page.js';
import { eventually } from '../helpers/poll.js';

const suite = agentIdeSuite('ide-journey');

let browser: Browser;
const pageErrors: string[] = [];

const PAGE = '<!doctype html>\n<title>Hello</title>\n<h1>Hello from the agent</h1>\n';
const SERVER = `const fs = require('fs');
require('http')
  .createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(fs.readFileSync('index.html'));
  })
  .listen(3000, () => console.log('serving on 3000'));
`;

const call = (name: string, input: unknown, text: string): FakeTurn => ({ kind: 'reply', text, toolCalls: [{ name, input }] });

/** The visible terminal's text (xterm's DOM renderer keeps one row per element). */
async function waitForTerminal(page: Page, match: RegExp): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = await page.getByTestId('terminal-view').filter({ visible: true }).locator('.xterm-rows').innerText().catch(() => '');
    if (match.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(match)}; it shows:\n${text}`);
    await page.waitForTimeout(50);
  }
}

async function typeInTerminal(page: Page, line: string): Promise<void> {
  await page.getByTestId('terminal-view').filter({ visible: true }).click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe('a first session in the IDE', () => {
  it('goes from sign-up and a first message to a running app, edited in the browser', { timeout: 300_000 }, async () => {
    suite.script({
      turns: [
        call('write_file', { path: 'index.html', content: PAGE }, "I'll start with the page."),
        call('write_file', { path: 'server.js', content: SERVER }, 'Now a small server for it.'),
        call('run_command', { command: 'node --check server.js && echo syntax ok' }, 'Checking that it parses.'),
        { kind: 'reply', text: 'Done: run `node server.js` and open the preview.' },
      ],
    });
    const page = await newIdePage(browser, pageErrors);
    const email = uniqueEmail('journey');
    const password = 'correct horse battery';

    // Sign up.
    await page.goto(suite.app.baseUrl);
    await page.getByTestId('show-register').click();
    await page.getByTestId('auth-name').fill('Grace Hopper');
    await page.getByTestId('auth-email').fill(email);
    await page.getByTestId('auth-password').fill(password);
    await page.getByTestId('auth-submit').click();
    await page.getByTestId('projects-empty').waitFor();
    await screenshot(page, 'journey-1-projects-empty');

    // The wizard: name, stack, template, and a first message to the agent.
    await createWithWizard(page, {
      name: 'Hello Page',
      description: 'A page that says hello',
      stack: 'node',
      template: 'empty',
      message: 'Make a page that says hello, and a server for it on port 3000.',
      screenshotAs: 'journey-2-wizard-message',
    });
    await page.getByTestId('new-project-progress').waitFor();
    await page.getByTestId('project-screen').waitFor({ timeout: 120_000 });
    const projectId = /#\/projects\/([0-9a-f-]{36})/.exec(page.url())?.[1];
    expect(projectId).toBeTruthy();

    // The chat: the person's message, the agent's streamed text, a card per tool call, the run completed.
    await page.getByTestId('user-message').filter({ hasText: 'Make a page that says hello' }).waitFor();
    await page.getByTestId('assistant-message').filter({ hasText: "I'll start with the page." }).waitFor({ timeout: 60_000 });
    const pageCard = page.locator('[data-testid="tool-card"][data-tool="write_file"]').first();
    await pageCard.getByTestId('tool-diff').filter({ hasText: '+ <h1>Hello from the agent</h1>' }).waitFor();
    await page.locator('[data-testid="tool-card"][data-tool="run_command"]').filter({ hasText: 'syntax ok' }).waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="run-status"][data-status="completed"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('assistant-message').filter({ hasText: 'Done: run `node server.js`' }).waitFor();
    expect(await page.getByTestId('tool-card').count()).toBe(3);
    await screenshot(page, 'journey-3-chat');

    // What the agent wrote opens in Monaco; the person edits it and saves with Ctrl-S.
    await pageCard.getByTestId('tool-open-file').click();
    await page.locator('[data-testid="editor-tab"][data-path="index.html"]').waitFor();
    await eventually(async () => (await editorText(page)).includes('Hello from the agent'), 'the editor shows the page');
    await page.locator('[data-testid="monaco-host"] .view-lines').click();
    await page.keyboard.press('Control+End');
    // Escape first: an Enter while Monaco's suggestions are open would take a suggestion, not end the line.
    await page.keyboard.type('<p>Edited in the browser</p>');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="editor-tab"][data-path="index.html"][data-dirty="true"]').waitFor();
    await page.keyboard.press('Control+s');
    await page.locator('[data-testid="editor-tab"][data-path="index.html"][data-dirty="false"]').waitFor();
    await screenshot(page, 'journey-4-editor');

    // The terminal is a shell in the same sandbox: it sees the saved edit.
    await page.getByTestId('terminal-toggle').click();
    await waitForTerminal(page, /\$ *$/m);
    await typeInTerminal(page, 'cat index.html');
    await waitForTerminal(page, /^<p>Edited in the browser<\/p>$/m);
    await screenshot(page, 'journey-5-terminal');

    // A change made through the API (another tool, another person) lands in the open, clean editor.
    const api = new ApiClient(suite.app.baseUrl);
    const token: string = (await api.post('/api/v1/auth/login', { body: { email, password } })).body.accessToken;
    const read = await api.get(`/api/v1/projects/${projectId}/files/content?path=index.html`, { token });
    expect(read.text).toContain('<p>Edited in the browser</p>');
    const changed = read.text.replace('<h1>Hello from the agent</h1>', '<h1>Hello from the API</h1>');
    const put = await fetch(`${suite.app.baseUrl}/api/v1/projects/${projectId}/files/content?path=index.html`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: changed,
    });
    expect(put.status).toBe(200);
    await eventually(async () => (await editorText(page)).includes('Hello from the API'), 'the editor shows the change made through the API');
    expect(await page.locator('[data-testid="editor-tab"][data-path="index.html"]').getAttribute('data-dirty')).toBe('false');

    // A server started in the terminal; the preview shows its page and names the process.
    await typeInTerminal(page, 'node server.js');
    await waitForTerminal(page, /^serving on 3000$/m);
    await page.getByTestId('center-tab-preview').click();
    await page.locator('[data-testid="preview-panel"][data-state="live"]').waitFor({ timeout: 30_000 });
    const frame = page.frameLocator('[data-testid="preview-frame"]');
    await frame.getByText('Hello from the API').waitFor();
    await frame.getByText('Edited in the browser').waitFor();
    await page.locator('[data-testid="preview-process"]', { hasText: 'node server.js · :3000' }).waitFor();
    expect(await page.getByTestId('preview-process').getAttribute('title')).toMatch(/\(pid \d+\)/);
    await screenshot(page, 'journey-6-preview');

    // A second browser (the same person on another machine) sees the first one's save live.
    const second = await newIdePage(browser, pageErrors);
    await signIn(second, suite.app.baseUrl, email, password);
    await second.goto(`${suite.app.baseUrl}/#/projects/${projectId}`);
    await second.locator('[data-testid="tree-row"][data-path="index.html"]').click();
    await second.locator('[data-testid="monaco-host"] .monaco-editor').waitFor();
    await eventually(async () => (await editorText(second)).includes('Hello from the API'), 'the second browser shows the file');
    // Its activity lists what happened before it opened, the agent's writes among them.
    await second.getByTestId('right-tab-activity').click();
    const agentWrite = second.locator('[data-testid="activity-item"][data-event-type="file.changed"]', { hasText: 'created index.html' });
    await agentWrite.waitFor();
    expect(await agentWrite.getByTestId('activity-actor').textContent()).toBe('Agent');

    await page.getByTestId('center-tab-code').click();
    await page.locator('[data-testid="monaco-host"] .view-lines').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('<p>Saved in the first browser</p>\n');
    await page.keyboard.press('Control+s');
    await eventually(async () => (await editorText(second)).includes('Saved in the first browser'), "the second browser shows the first one's save");
    await screenshot(second, 'journey-7-second-browser');
    // ...and the preview, which follows the files, shows it in the first.
    await page.getByTestId('center-tab-preview').click();
    await frame.getByText('Saved in the first browser').waitFor();
    await screenshot(page, 'journey-8-preview-reloaded');

    expect(pageErrors).toEqual([]);
  });
});
