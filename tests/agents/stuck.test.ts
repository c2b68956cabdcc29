/** Stuck detection: each of OpenHands' loop patterns is found, and healthy runs (tests re-run after edits, polling a server) are not flagged. */
import { describe, expect, it } from 'vitest';
import type { LlmMessage } from '../../services/agents/providers/index.js';
import { detectStuck, nudgeFor, stepsFromTranscript, type StuckStep } from '../../services/agents/stuck.js';

const step = (name: string, input: unknown, content: string, isError = false, text = ''): StuckStep => ({
  text,
  calls: [{ name, input, result: { content, isError } }],
});
const npmTest = (output: string, exit = 1) => step('run_command', { command: 'npm test' }, `Exit code ${exit}.\nOutput:\n${output}`, exit !== 0);
const edit = (n: number) => step('edit_file', { path: 'src/a.js', old_text: `v${n}`, new_text: `v${n + 1}` }, `Edited src/a.js at line ${n}`);
const talk = (text: string): StuckStep => ({ text, calls: [] });

describe('detectStuck finds loops', () => {
  it('the same action with the same result, 4 times in a row', () => {
    const read = step('read_file', { path: 'src/a.js' }, 'const a = 1;\n');
    expect(detectStuck([edit(1), read, read, read])).toBeNull();
    expect(detectStuck([edit(1), read, read, read, read])).toMatchObject({ kind: 'repeated_action', reason: expect.stringContaining('read_file src/a.js') });
    // Key order in the input does not make a different call; a different duration does not make a different result.
    const listA = step('run_command', { command: 'ls', timeout_seconds: 5 }, 'Exit code 0.\nOutput:\na\ndone in 1.2s');
    const listB = step('run_command', { timeout_seconds: 5, command: 'ls' }, 'Exit code 0.\nOutput:\na\ndone in 3.4s');
    expect(detectStuck([listA, listB, listA, listB])).toMatchObject({ kind: 'repeated_action' });
  });

  it('the same failing action with the same error, 3 times in a row', () => {
    const failing = step('edit_file', { path: 'src/a.js', old_text: 'nope', new_text: 'x' }, 'edit_file: old_text was not found in src/a.js; nothing changed.', true);
    expect(detectStuck([failing, failing])).toBeNull();
    const stuck = detectStuck([edit(1), failing, failing, failing]);
    expect(stuck).toMatchObject({ kind: 'repeated_error' });
    expect(stuck!.reason).toContain('old_text was not found');
    expect(detectStuck([npmTest('Error: Cannot find module x'), npmTest('Error: Cannot find module x'), npmTest('Error: Cannot find module x')])).toMatchObject({
      kind: 'repeated_error',
    });
  });

  it('A/B alternation with the same results, three rounds', () => {
    const a = step('read_file', { path: 'a.js' }, 'A');
    const b = step('read_file', { path: 'b.js' }, 'B');
    expect(detectStuck([a, b, a, b, a])).toBeNull();
    expect(detectStuck([edit(1), a, b, a, b, a, b])).toMatchObject({ kind: 'alternation' });
    // An edit that undoes the other, over and over.
    const undo = step('edit_file', { path: 'x.js', old_text: '1', new_text: '2' }, 'Edited x.js at line 1');
    const redo = step('edit_file', { path: 'x.js', old_text: '2', new_text: '1' }, 'Edited x.js at line 1');
    expect(detectStuck([undo, redo, undo, redo, undo, redo])).toMatchObject({ kind: 'alternation' });
  });

  it('empty monologue: turns with neither text nor tool call, or the same text again', () => {
    expect(detectStuck([edit(1), talk(''), talk('  ')])).toBeNull();
    expect(detectStuck([edit(1), talk(''), talk('  '), talk('')])).toMatchObject({ kind: 'monologue' });
    expect(detectStuck([talk('Let me check.'), talk('let me  check.'), talk('Let me check.')])).toMatchObject({ kind: 'monologue' });
  });

  it('gives a nudge that names what repeats', () => {
    const read = step('read_file', { path: 'src/a.js' }, 'x');
    const stuck = detectStuck([read, read, read, read])!;
    expect(nudgeFor(stuck)).toContain(stuck.reason);
  });
});

describe('detectStuck leaves healthy runs alone', () => {
  it('npm test re-run after each edit, failing differently, then passing', () => {
    const run = [edit(1), npmTest('# fail 3'), edit(2), npmTest('# fail 2'), edit(3), npmTest('# fail 2\nnot ok 4 other'), edit(4), npmTest('# fail 0', 0)];
    for (let i = 1; i <= run.length; i++) expect(detectStuck(run.slice(0, i)), `after step ${i}`).toBeNull();
  });

  it('npm test re-run after edits with the same failure each time (the edits are progress elsewhere)', () => {
    const run = [edit(1), npmTest('# fail 1'), edit(2), npmTest('# fail 1'), edit(3), npmTest('# fail 1'), edit(4), npmTest('# fail 1')];
    for (let i = 1; i <= run.length; i++) expect(detectStuck(run.slice(0, i)), `after step ${i}`).toBeNull();
  });

  it('polling a server whose output grows, and tests run three times to confirm', () => {
    const poll = (lines: number) => step('process_output', { process_id: 'p1' }, Array.from({ length: lines }, (_, i) => `request ${i}`).join('\n'));
    expect(detectStuck([poll(1), poll(2), poll(3), poll(4), poll(5)])).toBeNull();
    expect(detectStuck([edit(1), npmTest('# pass 5', 0), npmTest('# pass 5', 0), npmTest('# pass 5', 0)])).toBeNull();
  });

  it('steps with several calls differ by any of them', () => {
    const both = (n: number): StuckStep => ({ text: '', calls: [...edit(n).calls, ...npmTest('# fail 1').calls] });
    expect(detectStuck([both(1), both(2), both(3), both(4), both(5)])).toBeNull();
  });
});

describe('stepsFromTranscript', () => {
  it('pairs each assistant turn with its tool results', () => {
    const messages: LlmMessage[] = [
      { role: 'user', content: [{ type: 'text', text: 'build it' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Reading.' }, { type: 'tool_use', id: 't1', name: 'read_ir', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', toolUseId: 't1', content: 'no IR yet', isError: false }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Done.' }] },
    ];
    expect(stepsFromTranscript(messages)).toEqual([
      { text: 'Reading.', calls: [{ name: 'read_ir', input: {}, result: { content: 'no IR yet', isError: false } }] },
      { text: 'Done.', calls: [] },
    ]);
  });
});
