import { describe, expect, it } from 'vitest';
import { readModel, type Diagnostic } from '../../services/ir/index.js';
import { PROJECT_YAML } from '../helpers/ir-fixtures.js';

/** The diagnostics of a model made of a valid project file plus `files`. */
function diagnosticsOf(files: Record<string, string>): Diagnostic[] {
  return readModel({ 'ir/project.yaml': PROJECT_YAML, ...files }).diagnostics;
}

/** A context file: `body` is indented under `bounded_context:` after its name and namespace. */
function context(name: string, body: string): string {
  return `bounded_context:\n  name: ${name}\n  namespace: acme.${name.toLowerCase()}\n${body}`;
}

const ORDER_AGGREGATE = `  aggregates:
    - name: Order
      root_entity: { name: OrderEntity, properties: [ { name: id, type: uuid, identifier: true } ] }
`;

describe('IR diagnostics', () => {
  it('reports invalid YAML (an unclosed bracket) at the bracket, without throwing', () => {
    const text = context('Order', '  value_objects:\n    - name: Money\n      properties: [ { name: amount, type: decimal }\n');
    expect(diagnosticsOf({ 'ir/contexts/order.yaml': text })).toEqual([
      {
        code: 'YAML_SYNTAX',
        severity: 'error',
        file: 'ir/contexts/order.yaml',
        line: 6,
        column: 19,
        pointer: '',
        message: 'invalid YAML: the `[` here is never closed',
        suggestion: { message: 'close it with `]`' },
      },
    ]);
  });

  it('reports a field of the wrong type, naming what was expected and found', () => {
    const diagnostics = diagnosticsOf({
      'ir/project.yaml': 'project:\n  name: Test\n  stack: node\n',
      'ir/contexts/order.yaml': context('Order', '  aggregates: Order\n'),
    });
    expect(diagnostics).toEqual([
      {
        code: 'SCHEMA_TYPE',
        severity: 'error',
        file: 'ir/contexts/order.yaml',
        line: 4,
        column: 15,
        pointer: '/bounded_context/aggregates',
        message: '`aggregates` must be a list, not the string `Order`',
      },
      {
        code: 'SCHEMA_TYPE',
        severity: 'error',
        file: 'ir/project.yaml',
        line: 3,
        column: 10,
        pointer: '/project/stack',
        message: '`stack` must be a map, not the string `node`',
      },
    ]);
  });

  it('reports an unknown field at its key, with the likely intended field or the allowed ones', () => {
    const [misspelt, stray] = diagnosticsOf({ 'ir/contexts/order.yaml': context('Order', '  comands: []\n  colour: red\n') });
    expect(misspelt).toEqual({
      code: 'SCHEMA_UNKNOWN_FIELD',
      severity: 'error',
      file: 'ir/contexts/order.yaml',
      line: 4,
      column: 3,
      pointer: '/bounded_context/comands',
      message: 'unknown field `comands`',
      suggestion: { message: 'did you mean `commands`?', replacement: 'commands' },
    });
    expect(stray).toMatchObject({ code: 'SCHEMA_UNKNOWN_FIELD', line: 5, column: 3, pointer: '/bounded_context/colour' });
    expect(stray?.suggestion?.message).toMatch(/^remove `colour`; the fields allowed here are `name`, /);
  });

  it('reports an unknown type reference with a did-you-mean, in a property and inside List<>', () => {
    const text = context(
      'Order',
      `  enums: [ { name: OrderStatus, values: [OPEN] } ]
  aggregates:
    - name: Order
      root_entity:
        name: OrderEntity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: status, type: OrderStatu }
          - { name: lines, type: List<OrderLine> }
          - { name: history, type: List<OrderStatsu> }
`,
    );
    const properties = '/bounded_context/aggregates/0/root_entity/properties';
    expect(diagnosticsOf({ 'ir/contexts/order.yaml': text })).toEqual([
      {
        code: 'UNKNOWN_TYPE',
        severity: 'error',
        file: 'ir/contexts/order.yaml',
        line: 11,
        column: 35,
        pointer: `${properties}/1/type`,
        message: expect.stringMatching(/^unknown type `OrderStatu`: it is not a scalar \(string, int, .*\) nor an entity, value object or enum of `Order`$/),
        suggestion: { message: 'did you mean `OrderStatus`?', replacement: 'OrderStatus' },
      },
      {
        code: 'UNKNOWN_TYPE',
        severity: 'error',
        file: 'ir/contexts/order.yaml',
        line: 12,
        column: 34,
        pointer: `${properties}/2/type`,
        message: expect.stringMatching(/^unknown type `OrderLine`/),
        suggestion: { message: 'define `OrderLine` (as a value object, entity or enum) or use an existing type' },
      },
      {
        code: 'UNKNOWN_TYPE',
        severity: 'error',
        file: 'ir/contexts/order.yaml',
        line: 13,
        column: 36,
        pointer: `${properties}/3/type`,
        message: expect.stringMatching(/^unknown type `OrderStatsu`/),
        suggestion: { message: 'did you mean `List<OrderStatus>`?', replacement: 'List<OrderStatus>' },
      },
    ]);
  });

  it('reports a malformed type expression such as `List<>`', () => {
    const text = context(
      'Order',
      '  value_objects:\n    - { name: Basket, properties: [ { name: items, type: "List<>" } ] }\n',
    );
    expect(diagnosticsOf({ 'ir/contexts/order.yaml': text })).toEqual([
      expect.objectContaining({
        code: 'INVALID_TYPE_EXPRESSION',
        line: 5,
        column: 58,
        pointer: '/bounded_context/value_objects/0/properties/0/type',
        message: expect.stringContaining('`List<>` is not valid here: a type is a scalar'),
      }),
    ]);
  });

  it('reports duplicate aggregate names across files, pointing at the earlier definition', () => {
    const diagnostics = diagnosticsOf({
      'ir/contexts/sales.yaml': context('Sales', ORDER_AGGREGATE),
      'ir/contexts/shipping.yaml': context('Shipping', ORDER_AGGREGATE),
    });
    expect(diagnostics).toEqual([
      {
        code: 'DUPLICATE_NAME',
        severity: 'error',
        file: 'ir/contexts/shipping.yaml',
        line: 5,
        column: 13,
        pointer: '/bounded_context/aggregates/0/name',
        message: 'aggregate `Order` is already defined at ir/contexts/sales.yaml:5:13; aggregate names are unique across the model',
        suggestion: { message: 'rename one of them or remove the duplicate' },
      },
    ]);
  });

  it('reports invalid identifiers (`9Order`, `order-item`, `Unit-Price`) with a corrected name', () => {
    const text = context(
      'Sales',
      `  aggregates:
    - name: 9Order
      root_entity: { name: OrderEntity, properties: [ { name: id, type: uuid, identifier: true } ] }
  value_objects:
    - name: order-item
      properties: [ { name: Unit-Price, type: decimal } ]
`,
    );
    const found = diagnosticsOf({ 'ir/contexts/sales.yaml': text }).map(({ code, line, column, pointer, suggestion }) => ({
      code,
      line,
      column,
      pointer,
      replacement: suggestion?.replacement,
    }));
    expect(found).toEqual([
      { code: 'INVALID_IDENTIFIER', line: 5, column: 13, pointer: '/bounded_context/aggregates/0/name', replacement: 'Order' },
      { code: 'INVALID_IDENTIFIER', line: 8, column: 13, pointer: '/bounded_context/value_objects/0/name', replacement: 'OrderItem' },
      {
        code: 'INVALID_IDENTIFIER',
        line: 9,
        column: 29,
        pointer: '/bounded_context/value_objects/0/properties/0/name',
        replacement: 'unitPrice',
      },
    ]);
  });

  it('reports a command emitting an unknown event, and a command on an unknown aggregate', () => {
    const text = context(
      'Sales',
      `${ORDER_AGGREGATE}  commands:
    - { name: PayOrder, aggregate: Order, emits: [OrderPayed, OrderShipped] }
    - { name: ShipOrder, aggregate: Ordr }
  events:
    - { name: OrderPaid }
`,
    );
    // (PayOrder names no order, which also earns it a COMMAND_TARGET_UNCLEAR warning: see ir.command-checks.test.ts.)
    expect(diagnosticsOf({ 'ir/contexts/sales.yaml': text }).filter((d) => d.severity === 'error')).toEqual([
      {
        code: 'UNKNOWN_EVENT',
        severity: 'error',
        file: 'ir/contexts/sales.yaml',
        line: 8,
        column: 51,
        pointer: '/bounded_context/commands/0/emits/0',
        message: 'unknown event `OrderPayed`: bounded context `Sales` has no such event',
        suggestion: { message: 'did you mean `OrderPaid`?', replacement: 'OrderPaid' },
      },
      {
        code: 'UNKNOWN_EVENT',
        severity: 'error',
        file: 'ir/contexts/sales.yaml',
        line: 8,
        column: 63,
        pointer: '/bounded_context/commands/0/emits/1',
        message: 'unknown event `OrderShipped`: bounded context `Sales` has no such event',
        suggestion: { message: 'declare it under `events:`, e.g. `- { name: OrderShipped }`' },
      },
      {
        code: 'UNKNOWN_AGGREGATE',
        severity: 'error',
        file: 'ir/contexts/sales.yaml',
        line: 9,
        column: 37,
        pointer: '/bounded_context/commands/1/aggregate',
        message: 'unknown aggregate `Ordr` in bounded context `Sales`',
        suggestion: { message: 'did you mean `Order`?', replacement: 'Order' },
      },
    ]);
  });

  it('reports value object cycles once each: two, three (through List<>) and one value object long', () => {
    const text = context(
      'Sales',
      `  value_objects:
    - { name: A, properties: [ { name: b, type: B } ] }
    - { name: B, properties: [ { name: a, type: A } ] }
    - { name: C, properties: [ { name: d, type: List<D> } ] }
    - { name: D, properties: [ { name: e, type: E } ] }
    - { name: E, properties: [ { name: c, type: C }, { name: x, type: X } ] }
    - { name: X, properties: [ { name: v, type: string } ] }
    - { name: S, properties: [ { name: s, type: S } ] }
`,
    );
    const diagnostics = diagnosticsOf({ 'ir/contexts/sales.yaml': text });
    expect(diagnostics.map(({ code, line, column, pointer, message }) => ({ code, line, column, pointer, message }))).toEqual([
      {
        code: 'VALUE_OBJECT_CYCLE',
        line: 5,
        column: 49,
        pointer: '/bounded_context/value_objects/0/properties/0/type',
        message: 'value objects contain each other in a cycle: `A` -> `B` -> `A`; a value object cannot contain itself',
      },
      {
        code: 'VALUE_OBJECT_CYCLE',
        line: 7,
        column: 49,
        pointer: '/bounded_context/value_objects/2/properties/0/type',
        message: 'value objects contain each other in a cycle: `C` -> `D` -> `E` -> `C`; a value object cannot contain itself',
      },
      {
        code: 'VALUE_OBJECT_CYCLE',
        line: 11,
        column: 49,
        pointer: '/bounded_context/value_objects/6/properties/0/type',
        message: 'value objects contain each other in a cycle: `S` -> `S`; a value object cannot contain itself',
      },
    ]);
    expect(diagnostics[0]?.suggestion?.message).toMatch(/^break the cycle/);
  });

  it('reports an entity without an identifier and a validation rule that does not fit its type', () => {
    const text = context(
      'Sales',
      `  aggregates:
    - name: Order
      root_entity:
        name: OrderEntity
        properties:
          - { name: note, type: string, validation: { min: 1 } }
`,
    );
    expect(diagnosticsOf({ 'ir/contexts/sales.yaml': text })).toEqual([
      expect.objectContaining({ code: 'MISSING_IDENTIFIER', line: 7, column: 15, pointer: '/bounded_context/aggregates/0/root_entity/name' }),
      expect.objectContaining({
        code: 'INVALID_VALIDATION_RULE',
        line: 9,
        column: 60,
        pointer: '/bounded_context/aggregates/0/root_entity/properties/0/validation/min',
        message: '`min` does not apply to `string`; it applies to `int` and `decimal`',
      }),
    ]);
  });

  it('reports a file that is not a map, holds several documents, or is empty', () => {
    const found = diagnosticsOf({ 'ir/a.yaml': '[1, 2]', 'ir/b.yaml': 'x: 1\n---\ny: 2\n', 'ir/c.yaml': '' }).map(
      ({ file, code, line, column, message }) => ({ file, code, line, column, message }),
    );
    expect(found).toEqual([
      { file: 'ir/a.yaml', code: 'SCHEMA_TYPE', line: 1, column: 1, message: 'the file must be a map, not a list' },
      {
        file: 'ir/b.yaml',
        code: 'YAML_SYNTAX',
        line: 2,
        column: 1,
        message: 'invalid YAML: an IR file holds one document; remove the `---` separator or split the file',
      },
      {
        file: 'ir/c.yaml',
        code: 'EMPTY_FILE',
        line: 1,
        column: 1,
        message: 'the file is empty; it should hold `project:` or `bounded_context:`',
      },
    ]);
  });

  it('reports a missing project file', () => {
    const diagnostics = readModel({ 'ir/contexts/sales.yaml': context('Sales', ORDER_AGGREGATE) }).diagnostics;
    expect(diagnostics).toEqual([
      expect.objectContaining({ code: 'MISSING_PROJECT', file: 'ir/project.yaml', line: 1, column: 1, severity: 'error' }),
    ]);
  });
});
