/** Driving the IDE in a browser page: signing in, reading Monaco, screenshots kept as test artifacts. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { repoRoot } from '../../lib/config.js';

/** Where the browser tests leave their screenshots (look at them: the IDE must look tidy). */
export const ARTIFACTS_DIR = path.join(repoRoot, '.data', 'artifacts', 'e2e');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Signs in through the form and waits for the projects list. */
export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/#/login`);
  await page.getByTestId('auth-email').fill(email);
  await page.getByTestId('auth-password').fill(password);
  await page.getByTestId('auth-submit').click();
  await page.getByTestId('project-list').or(page.getByTestId('projects-empty')).first().waitFor();
}

/** The text the open Monaco editor shows (Monaco renders spaces as no-break spaces). */
export async function editorText(page: Page): Promise<string> {
  const text = await page.locator('[data-testid="monaco-host"] .view-lines').innerText();
  return text.replace(/\u00a0/g, ' ');
}

/** Collects the page's uncaught errors and console errors (CSP violations included). */
export function collectPageErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(`console: ${message.text()}`);
  });
}

export interface WizardChoices {
  name: string;
  description?: string;
  stack: 'node' | 'python' | 'go';
  /** Ask for a PostgreSQL of the project's own. */
  postgres?: boolean;
  /** Ask for a Redis of the project's own. */
  redis?: boolean;
  template: string;
  /** The first message to the agent. */
  message?: string;
  /** Screenshot the last step before creating, under this name. */
  screenshotAs?: string;
}

/** Goes through the new-project wizard from the projects list and creates the project (without waiting for it). */
export async function createWithWizard(page: Page, choices: WizardChoices): Promise<void> {
  await page.getByTestId('new-project').click();
  await page.getByTestId('new-project-name').fill(choices.name);
  if (choices.description) await page.getByTestId('new-project-description').fill(choices.description);
  await page.getByTestId('new-project-next').click();
  await page.getByTestId(`stack-${choices.stack}`).check();
  if (choices.postgres) await page.getByTestId('service-postgres').check();
  if (choices.redis) await page.getByTestId('service-redis').check();
  await page.getByTestId('new-project-next').click();
  await page.getByTestId(`template-${choices.template}`).check();
  await page.getByTestId('new-project-next').click();
  if (choices.message) await page.getByTestId('new-project-message').fill(choices.message);
  if (choices.screenshotAs) await screenshot(page, choices.screenshotAs);
  await page.getByTestId('new-project-create').click();
}

/** A page in a context of its own (its own cookies: another browser), its errors collected into `errors`. */
export async function newIdePage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  // Generous: the machines this runs on are often busy, and Monaco's first load is megabytes.
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  collectPageErrors(page, errors);
  return page;
}
