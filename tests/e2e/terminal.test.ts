/**
 * The IDE's terminal in a real Chromium against the real API and sandbox: type into xterm.js, see the shell's
 * output; reload the page, or drop its socket, and find the same shell, its recent output replayed.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildIde, launchChromium } from '../helpers/browser.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { eventually } from '../helpers/poll.js';
import { createProject } from '../helpers/sandbox.js';
import { TestSocket } from '../helpers/ws.js';

let ide: Awaited<ReturnType<typeof buildIde>>;
let testApp: TestApp;
let browser: Browser;
let page: Page;
let user: SignedIn;
let projectId: string;
const pageErrors: string[] = [];
const artifacts = path.resolve('.data/test-artifacts');

beforeAll(async () => {
  ide = await buildIde();
  testApp = await startTestApp({ env: { IDE_DIST_DIR: ide.distDir } });
  const api = new ApiClient(testApp.baseUrl);
  user = await signUp(api, 'term-e2e');
  projectId = await createProject(api, user);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${message.text()}`);
  });
  await mkdir(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await testApp?.services.sandboxes.destroy(projectId).catch(() => {});
  await testApp?.close();
  await ide?.remove();
});

const byTestId = (id: string) => page.getByTestId(id);

/** The visible terminal's text (xterm's DOM renderer keeps one row per element). */
function screenText(): Promise<string> {
  return byTestId('terminal-view').filter({ visible: true }).locator('.xterm-rows').innerText();
}

async function waitForScreen(match: RegExp): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = await screenText().catch(() => '');
    if (match.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(match)}; it shows:\n${text}`);
    await page.waitForTimeout(50);
  }
}

/** How many connections are attached to the project's terminals, as the API lists them. */
async function attachedCount(): Promise<number> {
  const socket = await TestSocket.open(`${testApp.baseUrl.replace('http', 'ws')}/api/v1/ws?token=${user.accessToken}`);
  try {
    socket.send({ type: 'terminal.list', id: 'count', projectId });
    const listed = await socket.next((m) => m.type === 'terminal.listed' && m.id === 'count');
    return listed.terminals.reduce((sum: number, t: { attached: number }) => sum + t.attached, 0);
  } finally {
    socket.close();
  }
}

async function openTerminal(): Promise<void> {
  await page.goto(`${testApp.baseUrl}/#/projects/${projectId}`);
  await byTestId('terminal-toggle').click();
  await byTestId('terminal-view').filter({ visible: true }).waitFor();
  await waitForScreen(/\$ *$/m);
  await byTestId('terminal-view').filter({ visible: true }).click();
}

describe('browser terminal', () => {
  it('types into a real shell, and finds the same shell after a reload and after a dropped socket', { timeout: 120_000 }, async () => {
    await page.goto(testApp.baseUrl);
    await byTestId('auth-screen').waitFor();
    await byTestId('auth-email').fill(user.email);
    await byTestId('auth-password').fill('correct horse battery');
    await byTestId('auth-submit').click();
    await byTestId('projects-screen').or(byTestId('projects-empty')).first().waitFor();

    await openTerminal();
    await page.keyboard.type('echo hello');
    await page.keyboard.press('Enter');
    const first = await waitForScreen(/^hello$/m);
    expect(first).toContain('echo hello');
    await page.keyboard.type('export MARK=$((40+2)); echo "set-$MARK"');
    await page.keyboard.press('Enter');
    await waitForScreen(/^set-42$/m);
    await page.screenshot({ path: path.join(artifacts, 'terminal.png') });

    // A reload drops the socket and the page: the terminal reattaches to the same shell and replays its output.
    await page.reload();
    await byTestId('terminal-toggle').click();
    const replayed = await waitForScreen(/^set-42$/m);
    expect(replayed).toContain('hello');
    await byTestId('terminal-view').filter({ visible: true }).click();
    await page.keyboard.type('echo "again-$MARK"');
    await page.keyboard.press('Enter');
    await waitForScreen(/^again-42$/m);
    await page.screenshot({ path: path.join(artifacts, 'terminal-reattached.png') });

    // The network drops (the server ends the socket): the page reconnects and the same shell carries on.
    const sockets = (testApp.app as unknown as { websocketServer: { clients: Set<{ terminate(): void }> } }).websocketServer;
    for (const client of sockets.clients) client.terminate();
    await page.waitForTimeout(300);
    await byTestId('terminal-view').filter({ visible: true }).click();
    await page.keyboard.type('echo "dropped-$MARK"');
    await page.keyboard.press('Enter');
    const afterDrop = await waitForScreen(/^dropped-42$/m);
    expect(afterDrop).toContain('again-42');

    // A second tab is a second shell.
    await byTestId('terminal-new').click();
    expect(await byTestId('terminal-tab').count()).toBe(2);
    await waitForScreen(/\$ *$/m);
    await byTestId('terminal-view').filter({ visible: true }).click();
    await page.keyboard.type('echo "second-${MARK:-unset}"');
    await page.keyboard.press('Enter');
    await waitForScreen(/^second-unset$/m);

    // A new browser tab (no terminals of its own yet) takes over the project's shells nobody is attached to.
    const context = page.context();
    await page.close();
    await eventually(async () => (await attachedCount()) === 0, 'the closed page detached its terminals', 10_000);
    page = await context.newPage();
    await page.goto(`${testApp.baseUrl}/#/projects/${projectId}`);
    await byTestId('terminal-toggle').click();
    await expect.poll(() => byTestId('terminal-tab').count(), { timeout: 15_000 }).toBe(2);
    const shown = await waitForScreen(/^(second-unset|dropped-42)$/m);
    expect(shown).toMatch(/second-unset|dropped-42/);
    await page.screenshot({ path: path.join(artifacts, 'terminal-taken-over.png') });
    expect(pageErrors).toEqual([]);
  });
});
