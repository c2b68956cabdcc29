/** Prompts by name and version: the latest by default, every tool described, variables filled. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPrompt, promptVersions, renderDescription } from '../../services/agents/prompts.js';
import { createToolbox, TOOL_NAMES } from '../../services/agents/tools/index.js';

describe('prompts', () => {
  it('loads the agent prompt, latest by default, with a description for every tool', () => {
    const latest = loadPrompt('agent');
    expect(latest.name).toBe('agent');
    expect(latest.version).toBe(promptVersions('agent').at(-1));
    expect(loadPrompt('agent', 'v1').text).toMatch(/^You are the Vaporform agent/);
    expect(loadPrompt('agent', 'v1').text).toMatch(/placeholders/);
    expect(Object.keys(loadPrompt('agent', 'v1').tools).sort()).toEqual([...TOOL_NAMES].sort());
  });

  it('picks versions by number, and refuses unknown names and versions', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prompts-'));
    mkdirSync(path.join(dir, 'helper'));
    for (const version of ['v1', 'v2', 'v10']) writeFileSync(path.join(dir, 'helper', `${version}.md`), `prompt ${version}\n`);
    writeFileSync(path.join(dir, 'helper', 'v2.tools.md'), 'preamble\n## read_ir\nReads.\n\n## run_command\nRuns {{maxTimeoutSeconds}} s.\n');
    expect(promptVersions('helper', dir)).toEqual(['v1', 'v2', 'v10']);
    expect(loadPrompt('helper', undefined, dir)).toMatchObject({ version: 'v10', text: 'prompt v10', tools: {} });
    expect(loadPrompt('helper', 'v2', dir).tools).toEqual({ read_ir: 'Reads.', run_command: 'Runs {{maxTimeoutSeconds}} s.' });
    expect(() => loadPrompt('helper', 'v3', dir)).toThrow(/No prompt helper v3/);
    expect(() => loadPrompt('nothing', undefined, dir)).toThrow(/No prompt nothing/);
    expect(() => loadPrompt('../etc', 'v1', dir)).toThrow();
    expect(() => renderDescription('{{unknown}}', {})).toThrow(/no value/);
  });

  it('gives the toolbox its descriptions with the deployment\'s values filled in', () => {
    const unused = {} as never;
    const toolbox = createToolbox({ ir: unused, files: unused, generate: unused, containers: { exec: unused }, maxCommandTimeoutMs: 300_000 });
    const definitions = toolbox.definitions();
    expect(definitions.map((d) => d.name)).toEqual([...TOOL_NAMES]);
    for (const definition of definitions) {
      expect(definition.description.length, definition.name).toBeGreaterThan(40);
      expect(definition.description).not.toContain('{{');
      expect(definition.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
    }
    expect(definitions.find((d) => d.name === 'run_command')!.description).toContain('default 60, at most 300');
  });
});
