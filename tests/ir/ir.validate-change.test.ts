import { describe, expect, it } from 'vitest';
import { validateChange } from '../../services/ir/index.js';
import { loadFixture, withoutInfo } from '../helpers/ir-fixtures.js';

describe('IR validateChange', () => {
  it('reports the diagnostics a proposed change would cause, including in files it did not touch', () => {
    const files = loadFixture('ecommerce');
    const changes = {
      'ir/contexts/order.yaml': files['ir/contexts/order.yaml']!.replace('name: OrderId\n', 'name: OrderIdentifier\n'),
    };
    const diagnostics = withoutInfo(validateChange(files, changes));
    // Payment refers to Order.OrderId: removing that type breaks payment.yaml as well as order.yaml.
    expect(new Set(diagnostics.map((d) => d.file))).toEqual(new Set(['ir/contexts/order.yaml', 'ir/contexts/payment.yaml']));
    expect(diagnostics.every((d) => d.code === 'UNKNOWN_TYPE')).toBe(true);
    expect(diagnostics[0]?.suggestion?.replacement).toBe('OrderIdentifier');
  });

  it('accepts a valid change with no diagnostics, and a deletion given as null', () => {
    const files = loadFixture('hr-leave');
    const leave = files['ir/contexts/leave.yaml']!;
    expect(withoutInfo(validateChange(files, { 'ir/contexts/leave.yaml': leave.replace('UNPAID]', 'UNPAID, STUDY]') }))).toEqual([]);
    expect(validateChange(files, { 'ir/contexts/leave.yaml': null })).toEqual([]);
    expect(validateChange(files, { 'ir/project.yaml': null }).map((d) => d.code)).toEqual(['MISSING_PROJECT']);
  });

  it('does not modify its inputs', () => {
    const files = loadFixture('hr-leave');
    const changes = { 'ir/contexts/leave.yaml': 'bounded_context: [', 'ir/project.yaml': null };
    const [filesBefore, changesBefore] = [structuredClone(files), structuredClone(changes)];
    validateChange(Object.freeze(files), Object.freeze(changes));
    expect(files).toEqual(filesBefore);
    expect(changes).toEqual(changesBefore);
  });
});
