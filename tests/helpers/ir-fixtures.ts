/** Reads an example model under tests/fixtures/ir/<name>/ into the files map the IR service takes. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../lib/config.js';

export function loadFixture(name: string): Record<string, string> {
  const root = path.join(repoRoot, 'tests', 'fixtures', 'ir', name);
  const files: Record<string, string> = {};
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files[path.relative(root, full).split(path.sep).join('/')] = readFileSync(full, 'utf8');
  }
  return files;
}

/** Diagnostics without the `info` ones (a version 1 model's suggestion to declare what its commands do). */
export const withoutInfo = <T extends { severity: string }>(diagnostics: readonly T[]): T[] => diagnostics.filter((d) => d.severity !== 'info');

/** A minimal valid project file (IR schema version 1), for tests that only care about contexts. */
export const PROJECT_YAML = 'project:\n  name: Test\n  stack: { runtime: node }\n';
