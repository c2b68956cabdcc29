/**
 * What a hostile or oversized model gets: diagnostics, never a throw, from work that stays bounded (aliases,
 * nesting, sizes, thousands of unknown names, unsafe patterns, huge rules, long value-object chains).
 */
import { describe, expect, it } from 'vitest';
import { IR_LIMITS, previewChange, readModel, validateChange, diffModels, type Diagnostic } from '../../services/ir/index.js';
import { aliasFlood, billionLaughs, unknownTypes, withRules } from '../fixtures/ir-hostile.js';
import { loadFixture, PROJECT_YAML, withoutInfo } from '../helpers/ir-fixtures.js';

function diagnosticsOf(files: Record<string, string>): Diagnostic[] {
  return withoutInfo(readModel({ 'ir/project.yaml': PROJECT_YAML, ...files }).diagnostics);
}

const codes = (diagnostics: Diagnostic[]) => diagnostics.map((d) => `${d.file} ${d.code}`);

describe('IR limits', () => {
  it('reports a flood of aliases and a billion laughs as diagnostics on their files', () => {
    const diagnostics = diagnosticsOf({ 'ir/contexts/flood.yaml': aliasFlood(), 'ir/contexts/laughs.yaml': billionLaughs() });
    expect(codes(diagnostics)).toEqual(['ir/contexts/flood.yaml LIMIT_EXCEEDED', 'ir/contexts/laughs.yaml LIMIT_EXCEEDED']);
    expect(diagnostics[0]!.message).toContain('aliases');
    // A few aliases are fine.
    expect(diagnosticsOf({ 'ir/contexts/flood.yaml': aliasFlood(3) })).toEqual([]);
  });

  it('reports YAML nested past the limit where it gets too deep, for flow and block collections', () => {
    const flow = `bounded_context: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`;
    const block = `bounded_context:\n${Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i + 1)}-`).join('\n')} x\n`;
    const diagnostics = diagnosticsOf({ 'ir/contexts/flow.yaml': flow, 'ir/contexts/block.yaml': block });
    expect(codes(diagnostics)).toEqual(['ir/contexts/block.yaml LIMIT_EXCEEDED', 'ir/contexts/flow.yaml LIMIT_EXCEEDED']);
    expect(diagnostics[0]!.message).toContain(`more than ${IR_LIMITS.maxDepth} levels`);
    expect(diagnostics[0]!.line).toBeGreaterThan(1);
  });

  it('reports a key given twice in a map, however large the map', () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `    k${i}: 1`).join('\n');
    const text = `bounded_context:\n  name: Big\n  namespace: big\n  extra:\n${keys}\n    k7: 2\n`;
    const diagnostics = diagnosticsOf({ 'ir/contexts/big.yaml': text });
    expect(diagnostics).toEqual([
      expect.objectContaining({ code: 'YAML_SYNTAX', line: 30_005, column: 5, pointer: '/bounded_context/extra/k7', message: 'invalid YAML: the key `k7` appears twice in this map' }),
    ]);
  });

  it('leaves a file that is too large, or past the total, unread, with a diagnostic on it', () => {
    const context = (name: string, padding: number) =>
      `bounded_context:\n  name: ${name}\n  namespace: acme.${name.toLowerCase()}\n  description: ${'x'.repeat(padding)}\n`;
    const big = IR_LIMITS.maxFileBytes - 200;
    const files: Record<string, string> = { 'ir/contexts/huge.yaml': context('Huge', IR_LIMITS.maxFileBytes) };
    for (let i = 0; i < 5; i++) files[`ir/contexts/part${i}.yaml`] = context(`Part${i}`, big);
    const diagnostics = diagnosticsOf(files);
    const limits = diagnostics.filter((d) => d.code === 'LIMIT_EXCEEDED');
    expect(limits.map((d) => d.file)).toEqual(['ir/contexts/huge.yaml', 'ir/contexts/part4.yaml']);
    expect(limits[0]!.message).toMatch(/the file is 1\.0 MiB; an IR file may be at most 1\.0 MiB: this file was not read/);
    expect(limits[1]!.message).toContain('may hold at most 4.0 MiB together');
  });

  it('bounds field lengths, list sizes and rule values with schema diagnostics', () => {
    const longName = `N${'a'.repeat(200)}`;
    const diagnostics = diagnosticsOf({
      'ir/contexts/shop.yaml': withRules('{ min_length: 50000000 }').replace('name: Product\n', `name: ${longName}\n`),
    });
    expect(diagnostics.map((d) => [d.code, d.pointer, d.message])).toEqual(
      expect.arrayContaining([
        ['SCHEMA_INVALID_VALUE', '/bounded_context/aggregates/0/name', '`name` is 201 characters long; at most 100 are allowed here'],
        ['SCHEMA_INVALID_VALUE', '/bounded_context/aggregates/0/root_entity/properties/1/validation/min_length', '`min_length` is 50000000; at most 10000 is allowed here'],
      ]),
    );
  });

  it('refuses a validation pattern that backtracks catastrophically, and keeps a safe one', () => {
    const unsafe = diagnosticsOf({ 'ir/contexts/shop.yaml': withRules("{ pattern: '^(\\w+)*!$', min_length: 28 }") });
    expect(unsafe).toEqual([
      expect.objectContaining({
        code: 'INVALID_VALIDATION_RULE',
        pointer: '/bounded_context/aggregates/0/root_entity/properties/1/validation/pattern',
        message: '`pattern` can take exponential time on some inputs: a repeated group holds a repetition that can match the same text in many ways',
      }),
      expect.objectContaining({ code: 'INVALID_VALIDATION_RULE', pointer: '/bounded_context/commands/0/parameters/0/validation/pattern' }),
    ]);
    expect(diagnosticsOf({ 'ir/contexts/shop.yaml': withRules("{ pattern: '^([a-z]+-)*[a-z]+$' }") })).toEqual([]);
  });

  it('suggests fixes for the first of thousands of unknown types, and returns a bounded list of diagnostics', () => {
    const reading = readModel(unknownTypes(1000));
    expect(reading.valid).toBe(false);
    expect(reading.diagnostics).toHaveLength(IR_LIMITS.maxDiagnostics + 1);
    expect(reading.diagnostics.at(-1)).toEqual(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED', severity: 'warning', message: '1000 more diagnostics are not shown; fix these first' }),
    );
    const first = reading.diagnostics[0]!;
    expect(first.code).toBe('UNKNOWN_TYPE');
    expect(first.suggestion?.message).toBeDefined();
  });

  it('checks a chain of thousands of value objects, and a long cycle, without running out of stack', () => {
    const count = 15_000;
    const objects = Array.from({ length: count }, (_, i) => `  - {name: V${i}, properties: [{name: n, type: V${(i + 1) % count}}]}`);
    const text = `bounded_context:\n name: Chain\n namespace: chain\n value_objects:\n${objects.join('\n')}\n`;
    const diagnostics = diagnosticsOf({ 'ir/contexts/chain.yaml': text });
    expect(diagnostics.filter((d) => d.code !== 'SCHEMA_INVALID_VALUE')).toEqual([
      expect.objectContaining({ code: 'VALUE_OBJECT_CYCLE', message: expect.stringContaining('`V0` -> `V1` ->') }),
    ]);
    expect(diagnostics[0]!.message.length).toBeLessThan(500);
  });
});

describe('previewChange', () => {
  it('gives the diagnostics and the diff that reading both models gives', () => {
    const files = loadFixture('ecommerce');
    const changes = {
      'ir/contexts/order.yaml': files['ir/contexts/order.yaml']!.replace('name: OrderId\n', 'name: OrderIdentifier\n'),
      'ir/contexts/payment.yaml': null,
    };
    const outcome = previewChange(files, changes);
    expect(outcome.diagnostics).toEqual(validateChange(files, changes));
    expect(outcome.valid).toBe(false);
    const after = { ...files, 'ir/contexts/order.yaml': changes['ir/contexts/order.yaml'] };
    delete (after as Record<string, string>)['ir/contexts/payment.yaml'];
    expect(outcome.diff).toEqual(diffModels(readModel(files).model, readModel(after).model));
  });
});
