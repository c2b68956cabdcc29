/** The generator plugin contract: a manifest saying what it targets and a pure function from the IR to files. */
import type { Model } from '../ir/index.js';

/** A JSON Schema (draft 2020-12) object; kept loose because generators declare their own options. */
export type JsonSchemaObject = { type: 'object'; properties?: Record<string, unknown>; [keyword: string]: unknown };

export interface GeneratorManifest {
  /** Unique in a registry; lowercase words joined by dashes (`typescript-http`). */
  name: string;
  /** Semver; recorded with what a generator wrote so a newer version can tell its own output apart. */
  version: string;
  language: string;
  framework: string;
  optionsSchema: JsonSchemaObject;
}

export interface GeneratedFile {
  /** Relative to the generation root, `/`-separated. */
  path: string;
  content: string;
  /** The IR elements it came from (`Context/Element`), or `*` when it depends on the whole model. */
  dependsOn: string[];
}

export type GeneratorOptions = Readonly<Record<string, unknown>>;

export interface Generator {
  manifest: GeneratorManifest;
  /** Pure and deterministic: the same model and options give the same files, in the same order. */
  generate(model: Model, options: GeneratorOptions): GeneratedFile[];
  /**
   * Optional, pure as well: fits `generate`'s output to what earlier generations left in the workspace (`current`:
   * the texts at the generated paths), e.g. migrations that must never be rewritten. May throw AppError
   * (DESTRUCTIVE_CHANGE), so that nothing is written.
   */
  evolve?(files: GeneratedFile[], current: ReadonlyMap<string, string>, options: EvolveOptions): GeneratedFile[];
}

export interface EvolveOptions {
  /** Whether changes that lose data (dropping a column, changing a type) may be emitted. */
  allowDestructive: boolean;
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** What is wrong with a manifest; empty when it is valid. */
export function manifestProblems(manifest: unknown): string[] {
  if (typeof manifest !== 'object' || manifest === null) return ['the manifest is not an object'];
  const m = manifest as Partial<Record<keyof GeneratorManifest, unknown>>;
  const problems: string[] = [];
  if (typeof m.name !== 'string' || !NAME.test(m.name)) problems.push('name must be lowercase words joined by dashes');
  if (typeof m.version !== 'string' || !SEMVER.test(m.version)) problems.push('version must be semver (1.2.3)');
  for (const key of ['language', 'framework'] as const) {
    if (typeof m[key] !== 'string' || (m[key] as string).trim() === '') problems.push(`${key} must be a non-empty string`);
  }
  const schema = m.optionsSchema as { type?: unknown } | undefined;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema) || schema.type !== 'object') {
    problems.push('optionsSchema must be a JSON Schema object with type "object"');
  }
  return problems;
}
