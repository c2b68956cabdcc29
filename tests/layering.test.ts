/**
 * The declared layers hold: lib <- services <- gateway/workflows. A service reaches another only through its
 * index.ts; lib imports no service; workflow definitions import activities as types only (no I/O in them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../lib/config.js';

/** Each generator's own folder holds templates: code of the projects it generates, not of Vaporform. */
const GENERATOR_TEMPLATES = /^services\/generators\/[^/]+\//;

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mjs)$/.test(entry.name))
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .filter((file) => !GENERATOR_TEMPLATES.test(file.split(path.sep).join('/')));
}

function imports(file: string): Array<{ spec: string; typeOnly: boolean }> {
  const text = readFileSync(path.join(repoRoot, file), 'utf8');
  return [...text.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)].map((match) => ({
    spec: match[2]!,
    typeOnly: Boolean(match[1]),
  }));
}

function resolved(file: string, spec: string): string {
  return path.relative(repoRoot, path.resolve(path.dirname(path.join(repoRoot, file)), spec));
}

describe('layering', () => {
  it('services reach other services only through their index.ts', () => {
    const violations: string[] = [];
    for (const file of sourceFiles('services')) {
      const own = file.split(path.sep)[1];
      for (const { spec } of imports(file)) {
        if (!spec.startsWith('.')) continue;
        const target = resolved(file, spec).split(path.sep);
        if (target[0] !== 'services' || target[1] === own) continue;
        if (target.slice(2).join('/') !== 'index.js') violations.push(`${file} -> ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('lib imports no service, workflow or gateway code', () => {
    const violations = sourceFiles('lib').flatMap((file) =>
      imports(file)
        .filter(({ spec }) => spec.startsWith('.') && !resolved(file, spec).startsWith('lib'))
        .map(({ spec }) => `${file} -> ${spec}`),
    );
    expect(violations).toEqual([]);
  });

  it('workflow definitions import activities as types only', () => {
    const violations = sourceFiles('workflows/definitions').flatMap((file) =>
      imports(file)
        .filter(({ spec, typeOnly }) => {
          if (spec.startsWith('@temporalio/workflow')) return false;
          if (spec.startsWith('.') && resolved(file, spec).startsWith(path.join('workflows', 'definitions'))) return false;
          return !typeOnly;
        })
        .map(({ spec }) => `${file} -> ${spec}`),
    );
    expect(violations).toEqual([]);
  });

  it('nothing outside config reads process.env', () => {
    const readers = ['lib', 'services', 'workflows']
      .flatMap(sourceFiles)
      .filter((file) => file !== path.join('lib', 'config.ts'))
      .filter((file) => /process\.env/.test(readFileSync(path.join(repoRoot, file), 'utf8')));
    expect(readers).toEqual([]);
  });
});
