/**
 * `dependsOn` is honest: changing one aggregate of a two-aggregate model changes only files that name it (or `*`),
 * in every built-in; and `dependentFiles` picks them from an IR diff path.
 */
import { describe, expect, it } from 'vitest';
import { readModel, type Model } from '../../services/ir/index.js';
import { builtinGenerators, dependentFiles, type GeneratedFile } from '../../services/generators/index.js';
import { PROJECT_YAML } from '../helpers/ir-fixtures.js';

const context = (noteType: string): string => `bounded_context:
  name: Shop
  namespace: acme.shop
  aggregates:
    - name: Cart
      root_entity:
        name: CartEntity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: note, type: ${noteType}, required: false }
    - name: Customer
      root_entity:
        name: CustomerEntity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: name, type: string }
  commands:
    - { name: OpenCart, aggregate: Cart, parameters: [ { name: note, type: string, required: false } ], emits: [CartOpened] }
    - { name: Register, aggregate: Customer, parameters: [ { name: name, type: string } ], emits: [Registered] }
  events:
    - { name: CartOpened, aggregate: Cart, payload: [ { name: cartId, type: uuid } ] }
    - { name: Registered, aggregate: Customer, payload: [ { name: customerId, type: uuid } ] }
  queries:
    - { name: GetCustomer, parameters: [ { name: customerId, type: uuid } ], result: Customer }
`;

function model(noteType: string): Model {
  const reading = readModel({ 'ir/project.yaml': PROJECT_YAML, 'ir/contexts/shop.yaml': context(noteType) });
  expect(reading.valid, JSON.stringify(reading.diagnostics)).toBe(true);
  return reading.model;
}

describe('dependsOn', () => {
  it.each(['typescript-http', 'python-http', 'go-http'])('%s: changing Cart rewrites only files depending on Cart or the whole model', (name) => {
    const generator = builtinGenerators().get(name)!;
    const before = generator.generate(model('string'), {});
    const after = generator.generate(model('int'), {});
    expect(after.map((f) => f.path)).toEqual(before.map((f) => f.path));
    const old = new Map(before.map((f) => [f.path, f.content]));
    const changed = after.filter((f) => old.get(f.path) !== f.content);
    expect(changed.length).toBeGreaterThan(0);
    for (const f of changed) expect(f.dependsOn.some((d) => d === '*' || d === 'Shop/Cart'), f.path).toBe(true);
    // Customer's own files exist, do not name Cart, and did not change.
    const customerOnly = after.filter((f) => f.dependsOn.includes('Shop/Customer') && !f.dependsOn.includes('Shop/Cart') && !f.dependsOn.includes('*'));
    expect(customerOnly.length).toBeGreaterThanOrEqual(2);
    for (const f of customerOnly) expect(old.get(f.path)).toBe(f.content);
    // What dependentFiles selects from an IR diff path covers every changed file.
    const selected = new Set(dependentFiles(after, ['Shop/Cart/CartEntity/note']).map((f: GeneratedFile) => f.path));
    for (const f of changed) expect(selected.has(f.path), f.path).toBe(true);
    expect([...selected].some((p) => customerOnly.some((f) => f.path === p))).toBe(false);
  });
});
