/**
 * Hand edits survive regeneration: untouched generated files are updated, edited ones are kept (the new version
 * goes beside them and a conflict is reported), files outside the generated set are never written, and files
 * whose content would not change are not rewritten.
 */
import { describe, expect, it } from 'vitest';
import { hashContent, parseRecord, planWrite, type GeneratedFile } from '../../services/generators/index.js';

const gen = { name: 'typescript-http', version: '0.1.0' };
const file = (path: string, content: string): GeneratedFile => ({ path, content, dependsOn: ['*'] });

describe('planWrite', () => {
  it('writes everything on first generation and records the hashes', () => {
    const plan = planWrite(null, new Map(), [file('b.js', 'B1'), file('a.js', 'A1')], gen);
    expect(plan.writes).toEqual([
      { path: 'a.js', content: 'A1' },
      { path: 'b.js', content: 'B1' },
    ]);
    expect(plan.conflicts).toEqual([]);
    expect(plan.record).toEqual({ generator: 'typescript-http', version: '0.1.0', files: { 'a.js': hashContent('A1'), 'b.js': hashContent('B1') } });
  });

  it('updates untouched files, keeps edited ones with the new version beside them, and skips unchanged ones', () => {
    const first = planWrite(null, new Map(), [file('untouched.js', 'U1'), file('edited.js', 'E1'), file('same.js', 'S1')], gen);
    const workspace = new Map([
      ['untouched.js', 'U1'],
      ['edited.js', 'E1 + my fix'],
      ['same.js', 'S1'],
      ['mine.js', 'hand-written'],
    ]);
    const plan = planWrite(first.record, workspace, [file('untouched.js', 'U2'), file('edited.js', 'E2'), file('same.js', 'S1')], gen);
    expect(plan.writes).toEqual([
      { path: 'edited.js.generated', content: 'E2' },
      { path: 'untouched.js', content: 'U2' },
    ]);
    expect(plan.conflicts).toEqual([{ path: 'edited.js', besidePath: 'edited.js.generated', reason: 'edited' }]);
    expect(plan.unchanged).toEqual(['same.js']);
    expect(plan.writes.map((w) => w.path)).not.toContain('mine.js');
    expect(plan.writes.map((w) => w.path)).not.toContain('edited.js');
    // The edited file keeps its old record: reverting the edit lets the next run update it again.
    expect(plan.record.files['edited.js']).toBe(hashContent('E1'));
    expect(plan.record.files['untouched.js']).toBe(hashContent('U2'));
    expect(plan.record.files).not.toHaveProperty('mine.js');

    const stillEdited = planWrite(plan.record, new Map([...workspace, ['untouched.js', 'U2']]), [file('untouched.js', 'U2'), file('edited.js', 'E3'), file('same.js', 'S1')], gen);
    expect(stillEdited.conflicts.map((c) => c.path)).toEqual(['edited.js']);
    expect(stillEdited.unchanged).toEqual(['same.js', 'untouched.js']);
    const reverted = planWrite(plan.record, new Map([['edited.js', 'E1']]), [file('edited.js', 'E3')], gen);
    expect(reverted.writes).toEqual([{ path: 'edited.js', content: 'E3' }]);
  });

  it('is no conflict when the generated output did not change, whether the file was edited or had a conflict before', () => {
    const first = planWrite(null, new Map(), [file('edited.js', 'E1'), file('other.js', 'O1')], gen);
    // Edited by hand, generated output unchanged: left alone silently, every time.
    const edited = new Map([['edited.js', 'E1 + my fix'], ['other.js', 'O1']]);
    const same = planWrite(first.record, edited, [file('edited.js', 'E1'), file('other.js', 'O1')], gen);
    expect(same.writes).toEqual([]);
    expect(same.conflicts).toEqual([]);
    expect(same.kept).toEqual(['edited.js']);
    expect(same.unchanged).toEqual(['other.js']);
    // The output changes: now it is a real conflict, once.
    const changed = planWrite(same.record, edited, [file('edited.js', 'E2'), file('other.js', 'O1')], gen);
    expect(changed.conflicts.map((c) => c.path)).toEqual(['edited.js']);
    expect(changed.writes).toEqual([{ path: 'edited.js.generated', content: 'E2' }]);
    // Run again with the same output: the twin is already there; no new conflict, nothing written.
    const again = planWrite(changed.record, edited, [file('edited.js', 'E2'), file('other.js', 'O1')], gen);
    expect(again.conflicts).toEqual([]);
    expect(again.writes).toEqual([]);
    // Reverting the edit still lets the generator update the file.
    const reverted = planWrite(again.record, new Map([['edited.js', 'E1']]), [file('edited.js', 'E2')], gen);
    expect(reverted.writes).toEqual([{ path: 'edited.js', content: 'E2' }]);
    // A file the generator never wrote, already reported once, is not reported again for the same output.
    const clash = planWrite(first.record, new Map([['new.js', 'someone else']]), [file('new.js', 'N1')], gen);
    expect(clash.conflicts.map((c) => c.reason)).toEqual(['not-generated']);
    expect(planWrite(clash.record, new Map([['new.js', 'someone else']]), [file('new.js', 'N1')], gen).conflicts).toEqual([]);
  });

  it('reads the record of what was produced, and ignores a broken one', () => {
    const text = JSON.stringify({ generator: 'typescript-http', version: '0.1.0', files: { 'a.js': hashContent('A') }, produced: { 'a.js': hashContent('B') } });
    expect(parseRecord(text, 'r.json', 'typescript-http').record?.produced).toEqual({ 'a.js': hashContent('B') });
    expect(parseRecord(JSON.stringify({ generator: 'typescript-http', version: '0.1.0', files: {}, produced: { 'a.js': 'x' } }), 'r.json', 'typescript-http').record).toBeNull();
  });

  it('writes a generated file that was deleted, and never overwrites a file it did not write', () => {
    const first = planWrite(null, new Map(), [file('a.js', 'A1')], gen);
    expect(planWrite(first.record, new Map(), [file('a.js', 'A2')], gen).writes).toEqual([{ path: 'a.js', content: 'A2' }]);
    const clash = planWrite(first.record, new Map([['a.js', 'A1'], ['new.js', 'someone else']]), [file('a.js', 'A1'), file('new.js', 'N1')], gen);
    expect(clash.conflicts).toEqual([{ path: 'new.js', besidePath: 'new.js.generated', reason: 'not-generated' }]);
    expect(clash.writes).toEqual([{ path: 'new.js.generated', content: 'N1' }]);
  });

  it('reports files the generator no longer produces without touching them', () => {
    const first = planWrite(null, new Map(), [file('a.js', 'A'), file('gone.js', 'G')], gen);
    const plan = planWrite(first.record, new Map([['a.js', 'A'], ['gone.js', 'G']]), [file('a.js', 'A')], gen);
    expect(plan.orphaned).toEqual(['gone.js']);
    expect(plan.writes).toEqual([]);
  });
});
