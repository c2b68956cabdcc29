/** A generator's fixed files kept as templates beside its code (`<path>.txt`, so that this project neither compiles nor lints them). */
import { readdirSync, readFileSync } from 'node:fs';
import type { GeneratedFile } from './plugin.js';

/**
 * The files under `dir`, each `<path>.txt` emitted at `<path>` after its header (`header`, or `header(path)` where
 * the comment syntax depends on the file), sorted by path. Called once when a generator's module loads, so that
 * generating stays pure; they depend on no part of the model.
 */
export function templateFiles(dir: URL, header: string | ((path: string) => string)): GeneratedFile[] {
  const headerOf = typeof header === 'string' ? () => header : header;
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.txt'))
    .map((name) => name.split('\\').join('/'))
    .sort()
    .map((name) => {
      const path = name.slice(0, -'.txt'.length);
      return { path, content: `${headerOf(path)}${readFileSync(new URL(name, dir), 'utf8')}`, dependsOn: [] };
    });
}
