/**
 * The agent chat in a real Chromium against the real runs stack (Temporal worker, the scripted fake model,
 * the project's sandbox): a message starts a run, its text streams in, each tool call is a card (a diff for a
 * written file, the output of a command), a destructive command waits for the person's approval, the link
 * drops and comes back without losing or doubling anything, and the file the agent wrote opens in Monaco.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTurn } from '../../services/agents/fake-model/index.js';
import { agentIdeSuite } from '../helpers/agent.js';
import { launchChromium } from '../helpers/browser.js';
import { editorText, newIdePage, screenshot, signIn } from '../helpers/ide-page.js';
import { eventually } from '../helpers/poll.js';

const suite = agentIdeSuite('ide-chat');

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

const call = (name: string, input: unknown, text = ''): FakeTurn => ({ kind: 'reply', text, toolCalls: [{ name, input }] });

beforeAll(async () => {
  browser = await launchChromium();
  page = await newIdePage(browser, pageErrors);
});

afterAll(async () => {
  await browser?.close();
});

describe('agent chat', () => {
  it('streams a run with tool cards, waits for approval, resumes after a dropped link, opens what the agent wrote', { timeout: 240_000 }, async () => {
    suite.script({
      turns: [
        call('write_file', { path: 'hello.txt', content: 'Hello from the agent\n' }, "I'll write the greeting first."),
        call('run_command', { command: 'cat hello.txt' }, 'Checking it.'),
        call('run_command', { command: 'rm -rf t1 t2 t3 t4 t5 t6 t7' }, 'Cleaning up the scratch folders.'),
        { kind: 'reply', text: 'Done: hello.txt greets you.' },
      ],
    });
    await signIn(page, suite.app.baseUrl, suite.owner.email, 'correct horse battery');
    await page.goto(`${suite.app.baseUrl}/#/projects/${suite.projectId}`);
    await page.getByTestId('chat-empty').waitFor();

    await page.getByTestId('chat-input').fill('Write a greeting into hello.txt and show it.');
    await page.keyboard.press('Enter');
    await page.getByTestId('user-message').filter({ hasText: 'Write a greeting' }).waitFor();
    await page.getByTestId('assistant-message').filter({ hasText: "I'll write the greeting first." }).waitFor();

    const writeCard = page.locator('[data-testid="tool-card"][data-tool="write_file"]');
    await writeCard.getByTestId('tool-diff').filter({ hasText: '+ Hello from the agent' }).waitFor();
    const catCard = page.locator('[data-testid="tool-card"][data-tool="run_command"]').first();
    await catCard.filter({ hasText: 'Hello from the agent' }).waitFor();

    // The destructive command waits for a person.
    await page.locator('[data-testid="run-status"][data-status="waiting_approval"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('tool-approval').filter({ visible: true }).waitFor();
    await screenshot(page, 'chat-approval');

    // The link drops and comes back: the run's stream resumes after the last event seen.
    await page.context().setOffline(true);
    await page.waitForTimeout(1500);
    await page.context().setOffline(false);

    await page.getByTestId('tool-approve').filter({ visible: true }).click();
    await page.locator('[data-testid="run-status"][data-status="completed"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('assistant-message').filter({ hasText: 'Done: hello.txt greets you.' }).waitFor();
    await expect.poll(() => page.getByTestId('run-usage').textContent()).toMatch(/4\/\d+ steps/);

    // Each event shown once: one user message, three cards, each assistant text once.
    expect(await page.getByTestId('user-message').count()).toBe(1);
    expect(await page.getByTestId('tool-card').count()).toBe(3);
    expect(await page.getByTestId('assistant-message').filter({ hasText: "I'll write the greeting first." }).count()).toBe(1);
    expect(await page.getByTestId('step-footer').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, 'chat-completed');

    // The file the agent wrote opens in Monaco from its card.
    await writeCard.getByTestId('tool-open-file').click();
    await page.locator('[data-testid="editor-tab"][data-path="hello.txt"]').waitFor();
    await eventually(async () => (await editorText(page)).includes('Hello from the agent'), 'the editor shows the written file');

    // A step's changes open as a diff.
    await page.getByTestId('step-diff').first().click();
    await page.getByTestId('diff-host').waitFor();
    await screenshot(page, 'chat-step-diff');

    // After a reload the conversation comes back from the runs API, as it was.
    await page.reload();
    await page.locator('[data-testid="run-status"][data-status="completed"]').waitFor();
    // The header comes first, the conversation as its events load.
    await expect.poll(() => page.getByTestId('tool-card').count()).toBe(3);
    expect(await page.getByTestId('user-message').count()).toBe(1);

    expect(pageErrors).toEqual([]);
  });
});
