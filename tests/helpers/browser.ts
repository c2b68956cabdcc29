/** A freshly built IDE and Debian's Chromium, for the tests that drive a real browser. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Builds the IDE into a scratch directory (IDE_DIST_DIR of a test app); `remove` deletes it. */
export async function buildIde(): Promise<{ distDir: string; remove(): Promise<void> }> {
  const distDir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-ide-'));
  await build({ root: path.join(repoRoot, 'ide'), build: { outDir: distDir, emptyOutDir: true }, logLevel: 'warn' });
  return { distDir, remove: () => rm(distDir, { recursive: true, force: true }) };
}

/** Headless Chromium with the flags this machine needs (no background networking, no GPU, no sandbox as root). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}
