import { describe, expect, it } from 'vitest';
import { diffModels, readModel } from '../../services/ir/index.js';
import { loadFixture, withoutInfo } from '../helpers/ir-fixtures.js';

const ORDER_FILE = 'ir/contexts/order.yaml';

/** The e-commerce model with `edit` applied to the text of the order context. */
function editedOrder(edit: (text: string) => string): Record<string, string> {
  const files = loadFixture('ecommerce');
  return { ...files, [ORDER_FILE]: edit(files[ORDER_FILE]!) };
}

describe('IR structural diff', () => {
  const before = readModel(loadFixture('ecommerce')).model;

  it('finds nothing between a model and itself', () => {
    expect(diffModels(before, readModel(loadFixture('ecommerce')).model).changes).toEqual([]);
  });

  it('reports an added property, a removed command and a changed property type, with pointers', () => {
    const after = readModel(
      editedOrder((text) =>
        text
          .replace(
            '          - { name: placedAt, type: datetime }\n',
            '          - { name: placedAt, type: date }\n          - { name: giftWrap, type: bool, required: false }\n',
          )
          .replace(/ {4}- \{ name: CancelOrder,.*\n/, ''),
      ),
    );
    // placedAt, now a date, is no longer set on create: a warning only (the model is valid).
    expect(withoutInfo(after.diagnostics).map((d) => [d.code, d.severity])).toEqual([['COMMAND_MISSING_FIELDS', 'warning']]);
    const changes = diffModels(before, after.model).changes;
    expect(changes).toEqual(
      expect.arrayContaining([
        {
          change: 'changed',
          element: 'property',
          path: 'Order/Order/OrderEntity/placedAt',
          file: ORDER_FILE,
          pointer: '/bounded_context/aggregates/0/root_entity/properties/6/type',
          field: 'type',
          before: 'datetime',
          after: 'date',
        },
        {
          change: 'added',
          element: 'property',
          path: 'Order/Order/OrderEntity/giftWrap',
          file: ORDER_FILE,
          pointer: '/bounded_context/aggregates/0/root_entity/properties/7',
        },
        {
          change: 'removed',
          element: 'command',
          path: 'Order/CancelOrder',
          file: ORDER_FILE,
          pointer: '/bounded_context/commands/2',
        },
      ]),
    );
    expect(changes).toHaveLength(3);
  });

  it('reports added and removed contexts, and changed emits of a command', () => {
    const files = editedOrder((text) => text.replace('emits: [OrderPaid]', 'emits: [OrderPaid, OrderPlaced]'));
    delete files['ir/contexts/inventory.yaml'];
    files['ir/contexts/order.yaml'] = files[ORDER_FILE]!.replaceAll('Inventory.ProductId', 'uuid');
    files['ir/contexts/shipping.yaml'] = 'bounded_context:\n  name: Shipping\n  namespace: acme.shipping\n';
    const after = readModel(files);
    expect(withoutInfo(after.diagnostics)).toEqual([]);
    const summary = diffModels(before, after.model).changes.map(({ change, element, path, field }) => ({ change, element, path, field }));
    expect(summary).toEqual(
      expect.arrayContaining([
        { change: 'removed', element: 'context', path: 'Inventory', field: undefined },
        { change: 'added', element: 'context', path: 'Shipping', field: undefined },
        { change: 'changed', element: 'command', path: 'Order/PayOrder', field: 'emits' },
        { change: 'changed', element: 'property', path: 'Order/Order/OrderItem/productId', field: 'type' },
      ]),
    );
  });

  it('reports a changed schema version and what a command declares it does', () => {
    const library = loadFixture('library');
    const edited = {
      ...library,
      'ir/project.yaml': library['ir/project.yaml']!.replace('schema_version: 2', 'schema_version: 1'),
      'ir/contexts/lending.yaml': library['ir/contexts/lending.yaml']!.replace(
        '      changes: loanId\n      requires: [ { field: returnedOn, is: unset } ]\n      parameters: [ { name: loanId, type: uuid }, { name: returnedOn, type: date } ]\n',
        '      changes: loanId\n      sets: { returnedOn: returnedOn }\n      parameters: [ { name: loanId, type: uuid }, { name: returnedOn, type: date } ]\n',
      ),
    };
    const changes = diffModels(readModel(library).model, readModel(edited).model).changes;
    expect(changes.map(({ element, path, field, pointer, before, after }) => ({ element, path, field, pointer, before, after }))).toEqual([
      { element: 'project', path: 'project', field: 'schema_version', pointer: '/project/schema_version', before: 2, after: 1 },
      { element: 'command', path: 'Lending/ReturnBook', field: 'sets', pointer: '/bounded_context/commands/1/sets', before: undefined, after: { returnedOn: 'returnedOn' } },
      { element: 'command', path: 'Lending/ReturnBook', field: 'requires', pointer: '/bounded_context/commands/1/requires', before: [{ field: 'returnedOn', is: 'unset' }], after: [] },
    ]);
  });
});
