/**
 * The README's run command: `npm start` brings up its own PostgreSQL and Temporal dev server, the API and
 * the worker; /ready reports every component (the sandbox images too) up; Ctrl-C (SIGINT) stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, portOpen } from '../../infra/lib/components.mjs';
import { repoRoot } from '../../lib/config.js';

let child: ChildProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('serves /ready with every component up, then stops cleanly on SIGINT', { timeout: 240_000 }, async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-run-'));
    await chmod(dataDir, 0o755);
    const [port, postgresPort, temporalPort, temporalUiPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    let output = '';
    child = spawn(process.execPath, [path.join(repoRoot, 'infra', 'run.mjs')], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: dataDir,
        PORT: String(port),
        POSTGRES_PORT: String(postgresPort),
        TEMPORAL_PORT: String(temporalPort),
        TEMPORAL_UI_PORT: String(temporalUiPort),
        LOG_LEVEL: 'warn',
        // The images this run's setup built: npm start finds them current and builds nothing.
        SANDBOX_IMAGE_TAG: inject('imageTag'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));

    const deadline = Date.now() + 180_000;
    let ready: any;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/ready`);
        ready = await response.json();
        if (response.status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(ready, output).toMatchObject({
      status: 'ready',
      components: {
        postgres: { status: 'up' },
        temporal: { status: 'up' },
        docker: { status: 'up' },
        sandboxImages: { status: 'up' },
      },
    });
    // The built IDE is served at the root.
    const page = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const freed of [port, postgresPort, temporalPort]) expect(await portOpen(freed)).toBe(false);
  });
});
