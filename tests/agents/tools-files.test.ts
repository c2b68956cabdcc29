/**
 * The file tools against a real sandbox: a model's call is hostile input (wrong types, huge strings, paths and
 * links out of the workspace) and gets an error result, never a throw; edit_file applies exactly one match or
 * nothing; placeholders are refused; output is capped; a retried call never applies its effect twice.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../lib/access.js';
import { MODEL_OUTPUT_BYTES, type Toolbox, type ToolContext } from '../../services/agents/tools/index.js';
import { sandboxSuite, sh } from '../helpers/sandbox.js';
import { appToolbox, call, MemoryJournal, toolContext } from '../helpers/toolbox.js';

const suite = sandboxSuite('tools-files');
let projectId: string;
let toolbox: Toolbox;
let ctx: ToolContext;
let owner: Principal;

const shell = (script: string) => sh(suite.api, suite.owner, projectId, script);

beforeAll(async () => {
  projectId = await suite.project();
  toolbox = appToolbox(suite.app);
  owner = { kind: 'user', userId: suite.owner.userId };
  ctx = toolContext(projectId, owner);
  await shell('mkdir -p src && printf "export const a = 1;\\n" > src/a.js && ln -s /etc etc-link && ln -s /etc/passwd passwd-link');
});

describe('write_file, read_file, list_files, search_files', () => {
  it('creates a file, reads it back, lists and finds it, with a diff card', async () => {
    const written = await call(toolbox, ctx, 'write_file', { path: 'src/app/main.js', content: 'console.log("hi");\n' });
    expect(written.isError, written.content).toBe(false);
    expect(written.changedPaths).toEqual(['src/app/main.js']);
    expect(written.display).toEqual({ kind: 'diff', path: 'src/app/main.js', before: null, after: 'console.log("hi");\n' });
    expect(await shell('cat src/app/main.js')).toBe('console.log("hi");');

    const read = await call(toolbox, ctx, 'read_file', { path: '/workspace/src/app/main.js' });
    expect(read).toMatchObject({ isError: false, content: 'console.log("hi");\n', changedPaths: [] });

    const listed = await call(toolbox, ctx, 'list_files', {});
    expect(listed.isError, listed.content).toBe(false);
    expect(listed.content).toContain('src/');
    expect(listed.content).toMatch(/main\.js \(19 bytes\)/);

    const found = await call(toolbox, ctx, 'search_files', { query: 'CONSOLE.log', path: 'src' });
    expect(found.isError, found.content).toBe(false);
    expect(found.content).toContain('src/app/main.js:1: console.log("hi");');
    const none = await call(toolbox, ctx, 'search_files', { query: 'no such text anywhere' });
    expect(none).toMatchObject({ isError: false });
    expect(none.content).toMatch(/^No match/);
  });

  it('caps what the model sees of a large file, keeping its start and end, and says so', async () => {
    await shell('for i in $(seq 1 20000); do echo "line $i"; done > big.txt');
    const read = await call(toolbox, ctx, 'read_file', { path: 'big.txt' });
    expect(read.isError).toBe(false);
    expect(Buffer.byteLength(read.content)).toBeLessThanOrEqual(MODEL_OUTPUT_BYTES);
    expect(read.content.startsWith('line 1\nline 2\n')).toBe(true);
    expect(read.content.endsWith('line 20000\n')).toBe(true);
    expect(read.content).toMatch(/bytes cut here/);
  });
});

describe('hostile input', () => {
  it('answers wrong shapes and types with an error the model can act on', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['write_file', null, /JSON object/],
      ['write_file', 'src/x.js', /JSON object/],
      ['write_file', [1, 2], /JSON object/],
      ['write_file', { path: 'x.js' }, /needs "content"/],
      ['write_file', { path: 'x.js', content: 42 }, /"content" of write_file must be a string, not a number/],
      ['write_file', { path: ['x.js'], content: '' }, /"path" of write_file must be a string, not an array/],
      ['write_file', { path: 'x.js', content: 'a', mode: 'w' }, /remove mode/],
      ['read_file', { path: '' }, /must not be empty/],
      ['read_file', { path: 'a\0b' }, /NUL/],
      ['read_file', { path: 'x'.repeat(5000) }, /at most 4096/],
      ['edit_file', { path: 'src/a.js', old_text: {}, new_text: 'b' }, /must be a string, not an object/],
      ['search_files', { query: 'a\nb' }, /one line/],
      ['run_command', { command: 'true', timeout_seconds: 'ten' }, /whole number/],
      ['run_command', { command: 'true', timeout_seconds: 1e9 }, /whole number/],
      ['process_output', { process_id: '../../x' }, /not a process id/],
      ['update_ir', { changes: 'ir/x.yaml' }, /object mapping/],
      ['update_ir', { changes: { 'ir/x.yaml': 5 } }, /string\) or null/],
      ['no_such_tool', {}, /no tool named "no_such_tool"/],
    ];
    for (const [name, input, message] of cases) {
      const result = await call(toolbox, ctx, name, input);
      expect(result.isError, `${name} ${JSON.stringify(input)?.slice(0, 80)}: ${result.content}`).toBe(true);
      expect(result.content, `${name} ${JSON.stringify(input)?.slice(0, 80)}`).toMatch(message);
      expect(result.changedPaths).toEqual([]);
    }
  });

  it('refuses content past the size limit without writing anything', async () => {
    const result = await call(toolbox, ctx, 'write_file', { path: 'huge.txt', content: 'x'.repeat(3 * 1024 * 1024) });
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/at most 2097152 are accepted/);
    expect(await shell('test -e huge.txt && echo yes || echo no')).toBe('no');
  });

  it('keeps every path inside the workspace: .., absolute paths and symlinks out are refused', async () => {
    const attempts: Array<[string, Record<string, unknown>]> = [
      ['read_file', { path: '../../etc/passwd' }],
      ['read_file', { path: 'src/../../etc/passwd' }],
      ['read_file', { path: '/etc/passwd' }],
      ['read_file', { path: 'etc-link/passwd' }],
      ['read_file', { path: 'passwd-link' }],
      ['list_files', { path: 'etc-link' }],
      ['list_files', { path: '..' }],
      ['search_files', { query: 'root', path: 'etc-link' }],
      ['write_file', { path: 'etc-link/evil', content: 'x' }],
      ['write_file', { path: 'passwd-link', content: 'x' }],
      ['write_file', { path: '../outside.txt', content: 'x' }],
      ['edit_file', { path: 'passwd-link', old_text: 'root', new_text: 'toor' }],
    ];
    for (const [name, input] of attempts) {
      const result = await call(toolbox, ctx, name, input);
      expect(result.isError, `${name} ${JSON.stringify(input)}: ${result.content}`).toBe(true);
      expect(result.content).not.toMatch(/root:x:0:0/);
    }
    expect(await shell('test -e /etc/evil && echo yes || echo no')).toBe('no');
    expect(await shell('head -c 4 /etc/passwd')).toBe('root');
  });

  it('acts with the principal\'s own permissions: a read-only key cannot write', async () => {
    const readOnly: Principal = { kind: 'apiKey', userId: suite.owner.userId, keyId: 'k', permissions: ['read'], projectIds: null };
    const limited = toolContext(projectId, readOnly);
    expect((await call(toolbox, limited, 'read_file', { path: 'src/a.js' })).isError).toBe(false);
    const write = await call(toolbox, limited, 'write_file', { path: 'src/a.js', content: 'x' });
    expect(write.isError).toBe(true);
    expect(write.content).toMatch(/FORBIDDEN/);
    const command = await call(toolbox, limited, 'run_command', { command: 'touch pwned' });
    expect(command.isError).toBe(true);
    expect(await shell('cat src/a.js; test -e pwned && echo pwned || true')).toBe('export const a = 1;');
  });
});

describe('edit_file', () => {
  it('applies exactly one match, and changes nothing on none or several', async () => {
    await shell('printf "let x = 1;\\nlet y = 2;\\nlet x = 1;\\n" > src/edit.js');
    const twice = await call(toolbox, ctx, 'edit_file', { path: 'src/edit.js', old_text: 'let x = 1;', new_text: 'let x = 3;' });
    expect(twice.isError).toBe(true);
    expect(twice.content).toMatch(/occurs 2 times .*lines 1, 3.*nothing changed/s);
    const none = await call(toolbox, ctx, 'edit_file', { path: 'src/edit.js', old_text: 'let z = 1;', new_text: 'let z = 3;' });
    expect(none.isError).toBe(true);
    expect(none.content).toMatch(/not found/);
    const missing = await call(toolbox, ctx, 'edit_file', { path: 'src/nope.js', old_text: 'a', new_text: 'b' });
    expect(missing).toMatchObject({ isError: true });
    expect(missing.content).toMatch(/does not exist/);
    expect(await shell('cat src/edit.js')).toBe('let x = 1;\nlet y = 2;\nlet x = 1;');

    const once = await call(toolbox, ctx, 'edit_file', { path: 'src/edit.js', old_text: 'let y = 2;\nlet x', new_text: 'let y = 5;\nlet x' });
    expect(once.isError, once.content).toBe(false);
    expect(once.changedPaths).toEqual(['src/edit.js']);
    expect(once.display).toEqual({
      kind: 'diff',
      path: 'src/edit.js',
      before: 'let x = 1;\nlet y = 2;\nlet x = 1;\n',
      after: 'let x = 1;\nlet y = 5;\nlet x = 1;\n',
    });
    expect(await shell('cat src/edit.js')).toBe('let x = 1;\nlet y = 5;\nlet x = 1;');
  });

  it('refuses placeholders in place of code, in edits and whole writes', async () => {
    const edit = await call(toolbox, ctx, 'edit_file', {
      path: 'src/edit.js',
      old_text: 'let y = 5;',
      new_text: 'let y = 6;\n// ... rest of the code unchanged',
    });
    expect(edit.isError).toBe(true);
    expect(edit.content).toMatch(/placeholder line "\/\/ \.\.\. rest of the code unchanged"/);
    const write = await call(toolbox, ctx, 'write_file', { path: 'src/edit.js', content: 'let x = 1;\n// ... existing code ...\n' });
    expect(write.isError).toBe(true);
    expect(write.content).toMatch(/Write the complete file content/);
    expect(await shell('cat src/edit.js')).toBe('let x = 1;\nlet y = 5;\nlet x = 1;');
  });
});

describe('a retried call', () => {
  it('returns the journaled result and never applies its effect twice', async () => {
    await shell('printf "count = 1\\n" > src/retry.js');
    const journal = new MemoryJournal();
    const retryCtx = toolContext(projectId, owner, { journal, runId: 'run-retry' });
    // Applying this edit twice would fail (two matches) or double the line.
    const edit = { id: 'toolu_retry_1', name: 'edit_file', input: { path: 'src/retry.js', old_text: 'count = 1\n', new_text: 'count = 1\ncount = 2\n' } };
    const first = await toolbox.execute(edit, retryCtx);
    expect(first.isError, first.content).toBe(false);
    const second = await toolbox.execute(edit, retryCtx);
    expect(second).toEqual(first);
    expect(await shell('cat src/retry.js')).toBe('count = 1\ncount = 2');
  });

  it('after a crash between the effect and its record, sees the effect done and does not repeat it', async () => {
    await shell('printf "total = 10\\n" > src/crash.js');
    const journal = new MemoryJournal();
    const retryCtx = toolContext(projectId, owner, { journal, runId: 'run-crash' });
    const edit = { id: 'toolu_crash_1', name: 'edit_file', input: { path: 'src/crash.js', old_text: 'total = 10', new_text: 'total = 10 + 10' } };
    journal.failDone = 1;
    await expect(toolbox.execute(edit, retryCtx)).rejects.toThrow(/crashed/);
    expect(await shell('cat src/crash.js')).toBe('total = 10 + 10');
    const retried = await toolbox.execute(edit, retryCtx);
    expect(retried.isError, retried.content).toBe(false);
    expect(retried.changedPaths).toEqual(['src/crash.js']);
    expect(await shell('cat src/crash.js')).toBe('total = 10 + 10');

    const command = { id: 'toolu_crash_2', name: 'run_command', input: { command: 'echo tick >> ticks.txt' } };
    journal.failDone = 1;
    await expect(toolbox.execute(command, retryCtx)).rejects.toThrow(/crashed/);
    const again = await toolbox.execute(command, retryCtx);
    expect(again.isError, again.content).toBe(false);
    expect(await shell('cat ticks.txt')).toBe('tick');
  });
});
