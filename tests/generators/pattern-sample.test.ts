/** Sample strings built from a `pattern` rule, for generated tests whose field no stock sample fits. */
import { describe, expect, it } from 'vitest';
import { sampleValue } from '../../services/generators/ir-view.js';
import { sampleFromPattern } from '../../services/generators/pattern-sample.js';

describe('sampleFromPattern', () => {
  it.each([
    ['^[A-Z]{3}-\\d{4}$', 'AAA-1111'],
    ['^(?<kind>[a-z]+)-\\k<kind>$', 'a-a'],
    ['^([a-z])\\1$', 'aa'],
    ['^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$', 'a@a.aa'],
    ['^(foo|bar)+_[0-9a-f]{8}$', 'foo_00000000'],
    ['^SKU-\\d+(?:-[A-Z]{2})?$', 'SKU-1'],
    ['^\\p{Lu}\\p{Ll}+$', 'Aa'],
    ['^[\\p{L}\\d ]{3,}$', 'aaa'],
  ])('%s gives %j, which the pattern accepts', (pattern, sample) => {
    expect(sampleFromPattern(pattern)).toBe(sample);
    expect(new RegExp(pattern, 'u').test(sample)).toBe(true);
  });

  it('grows unbounded repeats until the length rules hold, and gives up when they cannot', () => {
    expect(sampleFromPattern('^[A-Z][a-z]+$', 10, 20)).toBe('Aaaaaaaaaa');
    expect(sampleFromPattern('^[a-z]{3}$', 5, 9)).toBeUndefined();
  });

  it('gives undefined for what it does not cover or what cannot match, rather than a wrong sample', () => {
    for (const pattern of ['^(?=x)y$', '^[]$', '^\\p{Nope}$', '(', '^(a|b', 'a{2,1}']) expect(sampleFromPattern(pattern), pattern).toBeUndefined();
  });

  it('stays bounded on patterns that would build huge strings', () => {
    expect(sampleFromPattern('^(((a{1000}){1000}){1000})$')).toBeUndefined();
  });
});

describe('sampleValue', () => {
  it('keeps a stock sample when one fits, and builds one from the pattern when none does', () => {
    expect(sampleValue({ kind: 'scalar', type: 'string' }, { pattern: '^[a-z]+$' })).toBe('abc');
    expect(sampleValue({ kind: 'scalar', type: 'string' }, { pattern: '^[A-Z]{3}-\\d{4}$' })).toBe('AAA-1111');
  });
});
