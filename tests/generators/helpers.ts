/** Shared by the generator tests: fixture models, writing generated files to a temporary directory, installing what they need. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readModel, type Model } from '../../services/ir/index.js';
import type { GeneratedFile } from '../../services/generators/index.js';
import { loadFixture } from '../helpers/ir-fixtures.js';

export function fixtureModel(name: string): Model {
  const reading = readModel(loadFixture(name));
  if (!reading.valid) throw new Error(`fixture ${name} is invalid: ${JSON.stringify(reading.diagnostics)}`);
  return reading.model;
}

/** Writes the files under a fresh temporary directory and returns it. */
export function writeTemp(files: GeneratedFile[], prefix: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), `vaporform-${prefix}-`));
  for (const file of files) {
    const target = path.join(root, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
  return root;
}

/**
 * Links a node_modules with a generated typescript-http service's dependencies into `dir`: installed from the
 * registry once per set of versions (npm install, as a user would) and shared by every test after that.
 */
export function linkTypescriptDependencies(dir: string): void {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const manifest = { name: 'deps', version: '0.0.0', private: true, type: 'module', dependencies: pkg.dependencies, devDependencies: pkg.devDependencies };
  const key = createHash('sha256').update(JSON.stringify(manifest)).digest('hex').slice(0, 16);
  const cache = path.join(os.tmpdir(), `vaporform-ts-deps-${key}`);
  if (!existsSync(path.join(cache, 'node_modules', '.package-lock.json'))) {
    // Installed beside, then renamed: test files installing at the same time never see half a node_modules.
    const staging = mkdtempSync(`${cache}-`);
    writeFileSync(path.join(staging, 'package.json'), JSON.stringify(manifest));
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: staging, encoding: 'utf8', timeout: 300_000 });
    if (npm.status !== 0) throw new Error(`npm install failed: ${npm.stdout}\n${npm.stderr}`);
    try {
      renameSync(staging, cache);
    } catch {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  symlinkSync(path.join(cache, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

/** Runs an npm script of a generated service; its exit status and everything it printed. */
export function npmRun(dir: string, script: string, env: Record<string, string | undefined> = {}): { status: number | null; output: string } {
  const run = spawnSync('npm', ['run', '--silent', script], { cwd: dir, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}
