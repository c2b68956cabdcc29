/** Shared by the generator tests: fixture models and writing generated files to a temporary directory. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
