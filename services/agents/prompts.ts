/**
 * System prompts and tool descriptions as versioned files (prompts/README.md): `prompts/<name>/v<N>.md` is the
 * system prompt, `prompts/<name>/v<N>.tools.md` the tools' descriptions (one `## tool_name` section each).
 * Loaded by name and version, the latest by default; a run records `<name>/v<N>` so it keeps the words it
 * started with. Files are read once per process.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';

export interface Prompt {
  name: string;
  /** `v1`, `v2`, ... */
  version: string;
  /** The system prompt. */
  text: string;
  /** Tool name -> its description, with `{{variables}}` still in it (see `renderDescription`). */
  tools: Readonly<Record<string, string>>;
}

const NAME = /^[a-z][a-z0-9-]{0,63}$/;
const VERSION = /^v(\d{1,6})$/;
const cache = new Map<string, Prompt>();

export function promptsDir(): string {
  return path.join(repoRoot, 'prompts');
}

/** The versions of a prompt, oldest first. */
export function promptVersions(name: string, dir = promptsDir()): string[] {
  if (!NAME.test(name)) throw new AppError('VALIDATION_FAILED', `"${name}" is not a prompt name`);
  const folder = path.join(dir, name);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .map((file) => /^(v\d{1,6})\.md$/.exec(file)?.[1])
    .filter((version): version is string => version !== undefined)
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

/** A prompt by name and version (`v1`); without a version, the latest. */
export function loadPrompt(name: string, version?: string, dir = promptsDir()): Prompt {
  const chosen = version ?? promptVersions(name, dir).at(-1);
  if (!NAME.test(name) || chosen === undefined || !VERSION.test(chosen)) {
    throw new AppError('NOT_FOUND', `No prompt ${name}${version ? ` ${version}` : ''}`);
  }
  const key = `${dir}\0${name}/${chosen}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const file = path.join(dir, name, `${chosen}.md`);
  if (!existsSync(file)) throw new AppError('NOT_FOUND', `No prompt ${name} ${chosen}`);
  const toolsFile = path.join(dir, name, `${chosen}.tools.md`);
  const prompt: Prompt = {
    name,
    version: chosen,
    text: readFileSync(file, 'utf8').trim(),
    tools: existsSync(toolsFile) ? parseToolDescriptions(readFileSync(toolsFile, 'utf8')) : {},
  };
  cache.set(key, prompt);
  return prompt;
}

/** `## name` sections; text before the first is a preamble for people. */
export function parseToolDescriptions(markdown: string): Record<string, string> {
  const tools: Record<string, string> = {};
  let current: string | null = null;
  let lines: string[] = [];
  const flush = () => {
    if (current !== null) tools[current] = lines.join('\n').trim();
  };
  for (const line of markdown.split('\n')) {
    const heading = /^## +([a-z_][a-z0-9_]*) *$/.exec(line);
    if (heading) {
      flush();
      current = heading[1]!;
      lines = [];
    } else if (current !== null) lines.push(line);
  }
  flush();
  return tools;
}

/** Fills `{{name}}` from `values`; an unknown variable is a mistake in the prompt file. */
export function renderDescription(text: string, values: Readonly<Record<string, string | number>>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`The tool description uses {{${name}}}, which has no value`);
    return String(value);
  });
}
