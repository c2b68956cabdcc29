/**
 * read_ir, update_ir and run_generator against a real sandbox: an invalid change comes back as diagnostics with
 * nothing written, a valid one is written whole, the generator writes code from it, and a retried update_ir is
 * applied once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../lib/access.js';
import type { Toolbox, ToolContext } from '../../services/agents/tools/index.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { sandboxSuite, sh } from '../helpers/sandbox.js';
import { appToolbox, call, MemoryJournal, toolContext } from '../helpers/toolbox.js';

const suite = sandboxSuite('tools-ir');
let projectId: string;
let toolbox: Toolbox;
let ctx: ToolContext;
let owner: Principal;

const shell = (script: string) => sh(suite.api, suite.owner, projectId, script);

function nodeFixture(): Record<string, string> {
  const files = loadFixture('hr-leave');
  files['ir/project.yaml'] = files['ir/project.yaml']!.replace(/runtime: \w+/, 'runtime: node').replace(/, framework: \w+/, '');
  return files;
}

beforeAll(async () => {
  projectId = await suite.project();
  toolbox = appToolbox(suite.app);
  owner = { kind: 'user', userId: suite.owner.userId };
  ctx = toolContext(projectId, owner);
});

describe('the IR tools', () => {
  it('read_ir on a project without IR says how to start one', async () => {
    const result = await call(toolbox, ctx, 'read_ir', {});
    expect(result.isError, result.content).toBe(false);
    expect(result.content).toMatch(/no IR yet/);
    expect(result.display).toMatchObject({ kind: 'ir', diagnostics: 0 });
  });

  it('update_ir with an invalid model returns the diagnostics and writes nothing', async () => {
    const files = nodeFixture();
    const broken = { ...files, 'ir/contexts/leave.yaml': files['ir/contexts/leave.yaml']!.replace(/type: \w+/, 'type: NoSuchType') };
    const result = await call(toolbox, ctx, 'update_ir', { changes: broken });
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/nothing was written/);
    expect(result.content).toMatch(/ir\/contexts\/leave\.yaml:\d+:\d+ error/);
    expect(result.content).toContain('NoSuchType');
    expect(result.changedPaths).toEqual([]);
    expect(await shell('test -e ir && echo yes || echo no')).toBe('no');

    const outside = await call(toolbox, ctx, 'update_ir', { changes: { 'src/evil.yaml': 'x: 1' } });
    expect(outside.isError).toBe(true);
    expect(outside.content).toMatch(/ir\/\*\*\/\*\.yaml/);
    const missing = await call(toolbox, ctx, 'update_ir', { changes: { 'ir/contexts/none.yaml': null } });
    expect(missing.isError).toBe(true);
    expect(missing.content).toMatch(/cannot be deleted/);
  });

  it('update_ir with a valid model writes all of it, and read_ir shows it', async () => {
    const result = await call(toolbox, ctx, 'update_ir', { changes: nodeFixture() });
    expect(result.isError, result.content).toBe(false);
    expect(result.changedPaths).toEqual(['ir/contexts/leave.yaml', 'ir/project.yaml']);
    expect(result.content).toMatch(/added context Leave/);
    const read = await call(toolbox, ctx, 'read_ir', {});
    expect(read.isError).toBe(false);
    expect(read.content).toMatch(/Summary: Leave Desk \(node\): 1 bounded context/);
    expect(read.content).toContain('--- ir/project.yaml\nproject:');
    expect(read.content).toMatch(/Valid: yes/);
  });

  it('a retried update_ir that was applied before the crash is not applied again', async () => {
    const journal = new MemoryJournal();
    const retryCtx = toolContext(projectId, owner, { journal, runId: 'run-ir-retry' });
    const update = { id: 'toolu_ir_1', name: 'update_ir', input: { changes: { 'ir/contexts/leave.yaml': null } } };
    // Deleting the context is valid; a second delete would fail (no such file).
    journal.failDone = 1;
    await expect(toolbox.execute(update, retryCtx)).rejects.toThrow(/crashed/);
    const retried = await toolbox.execute(update, retryCtx);
    expect(retried.isError, retried.content).toBe(false);
    expect(retried.changedPaths).toEqual(['ir/contexts/leave.yaml']);
    expect(await shell('find ir -type f')).toBe('ir/project.yaml');
    // Put the model back for the generator.
    expect((await call(toolbox, ctx, 'update_ir', { changes: nodeFixture() })).isError).toBe(false);
  });

  it('run_generator writes the code of the stack\'s generator and reports it', { timeout: 60_000 }, async () => {
    const result = await call(toolbox, ctx, 'run_generator', {});
    expect(result.isError, result.content).toBe(false);
    expect(result.content).toMatch(/^typescript-http [\d.]+: \d+ file\(s\) written/);
    expect(result.changedPaths).toEqual(expect.arrayContaining(['package.json', 'src/server.ts']));
    expect(await shell('test -f src/server.ts && echo yes')).toBe('yes');
    const unknown = await call(toolbox, ctx, 'run_generator', { generator: 'cobol-mainframe' });
    expect(unknown.isError).toBe(true);
    expect(unknown.content).toMatch(/No generator "cobol-mainframe"/);
  });
});
