import { describe, expect, it } from 'vitest';
import { readModel } from '../../services/ir/index.js';
import { loadFixture, PROJECT_YAML, withoutInfo } from '../helpers/ir-fixtures.js';

/** What a version 1 model with commands hears, once, at its project file: nothing is wrong. */
const INFERRED = [['COMMAND_EFFECT_INFERRED', 'info', 'ir/project.yaml', '/project']];
const codes = (diagnostics: Array<{ code: string; severity: string; file: string; pointer: string }>) =>
  diagnostics.map((d) => [d.code, d.severity, d.file, d.pointer]);

describe('IR example models', () => {
  it('the e-commerce model (order, payment, inventory; schema version 1) validates with only the version 1 note', () => {
    const { model, diagnostics, valid } = readModel(loadFixture('ecommerce'));
    expect(model.project?.schema_version).toBeUndefined();
    expect(codes(diagnostics)).toEqual(INFERRED);
    expect(valid).toBe(true);
    expect(model.project?.stack.runtime).toBe('node');
    expect(model.contexts.map((c) => c.context.name).sort()).toEqual(['Inventory', 'Order', 'Payment']);
  });

  it('the HR leave-management model (schema version 1) validates with only the version 1 note', () => {
    const { model, diagnostics } = readModel(loadFixture('hr-leave'));
    expect(codes(diagnostics)).toEqual(INFERRED);
    const leave = model.contexts[0]!.context;
    expect(leave.aggregates.map((a) => a.name)).toEqual(['LeaveRequest', 'LeaveBalance']);
    expect(leave.commands.find((c) => c.name === 'ApproveLeave')?.emits).toEqual(['LeaveApproved']);
  });

  it("the issue's example, with OrderId, OrderItem and OrderStatus defined, is valid", () => {
    const order = `bounded_context:
  name: Order
  namespace: acme.order
  aggregates:
    - name: Order
      root_entity:
        name: OrderEntity
        properties:
          - { name: id, type: OrderId, identifier: true }
          - { name: items, type: List<OrderItem> }
          - { name: status, type: OrderStatus }
      entities:
        - name: OrderItem
          properties: [ { name: id, type: uuid, identifier: true }, { name: price, type: Money } ]
      value_objects:
        - name: Money
          properties: [ { name: amount, type: decimal }, { name: currency, type: string } ]
        - name: OrderId
          properties: [ { name: value, type: uuid } ]
      enums:
        - { name: OrderStatus, values: [PENDING, PAID] }
  commands: [ { name: PayOrder, aggregate: Order, emits: [OrderPaid] } ]
  events:   [ { name: OrderPaid } ]
  queries:  [ { name: GetOrder } ]
`;
    const reading = readModel({ 'ir/project.yaml': PROJECT_YAML, 'ir/contexts/order.yaml': order });
    expect(reading.valid).toBe(true);
    // Valid, with the warnings of issue 10: a PayOrder that names no order creates one; GetOrder returns nothing.
    expect(reading.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['COMMAND_TARGET_UNCLEAR', 'warning'],
      ['QUERY_NOT_SERVED', 'warning'],
      ['COMMAND_EFFECT_INFERRED', 'info'],
    ]);
  });

  it('reads only YAML files under ir/', () => {
    const files = { ...loadFixture('hr-leave'), 'README.md': '# not IR', 'src/config.yaml': 'not: [ir' };
    expect(withoutInfo(readModel(files).diagnostics)).toEqual([]);
  });
});
