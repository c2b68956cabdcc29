/**
 * CommandView says what a command does: from the IR's `creates`, `changes`, `sets` and `requires` when the model
 * declares them, inferred from parameter names otherwise (schema version 1, as before).
 */
import { describe, expect, it } from 'vitest';
import { viewModel, type CommandView } from '../../services/generators/ir-view.js';
import { readModel } from '../../services/ir/index.js';
import { loadFixture } from '../helpers/ir-fixtures.js';

function commandsOf(files: Record<string, string>, aggregate: string): Map<string, CommandView> {
  const reading = readModel(files);
  expect(reading.valid, JSON.stringify(reading.diagnostics)).toBe(true);
  const view = viewModel(reading.model).flatMap((c) => c.aggregates).find((a) => a.name === aggregate)!;
  return new Map(view.commands.map((c) => [c.name, c]));
}

const effect = ({ kind, idParam, sets, preconditions }: CommandView) => ({ kind, idParam, sets, preconditions });

describe('CommandView', () => {
  it('infers what a version 1 command does, as before', () => {
    const commands = commandsOf(loadFixture('hr-leave'), 'LeaveRequest');
    expect(effect(commands.get('RequestLeave')!)).toEqual({
      kind: 'create',
      idParam: undefined,
      sets: ['employeeId', 'type', 'period', 'days', 'comment'].map((f) => ({ field: f, param: f })),
      preconditions: [],
    });
    expect(effect(commands.get('ApproveLeave')!)).toEqual({ kind: 'change', idParam: 'requestId', sets: [], preconditions: [] });
  });

  it('follows the declared keys of the version 2 library: creates, changes and requires', () => {
    const commands = commandsOf(loadFixture('library'), 'Loan');
    expect(effect(commands.get('BorrowBook')!)).toMatchObject({ kind: 'create', idParam: undefined, preconditions: [] });
    expect(effect(commands.get('ReturnBook')!)).toEqual({
      kind: 'change',
      idParam: 'loanId',
      sets: [{ field: 'returnedOn', param: 'returnedOn' }],
      preconditions: [{ field: 'returnedOn', is: 'unset' }],
    });
    expect(commands.get('RenewLoan')!.preconditions).toEqual([{ field: 'returnedOn', is: 'unset' }]);
  });

  it('maps `sets` to parameters of other names, carries the field rules to them, and reads the payload accordingly', () => {
    const files = loadFixture('library');
    files['ir/contexts/lending.yaml'] = `bounded_context:
  name: Lending
  namespace: library.lending
  aggregates:
    - name: Loan
      root_entity:
        name: LoanEntity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: isbn, type: string, validation: { pattern: "^[0-9X-]+$", max_length: 17 } }
          - { name: dueOn, type: date }
          - { name: status, type: LoanStatus }
          - { name: renewals, type: int, validation: { min: 0, max: 3 } }
      enums:
        - { name: LoanStatus, values: [OPEN, LATE, CLOSED] }
  commands:
    - name: BorrowBook
      aggregate: Loan
      creates: true
      parameters: [ { name: book, type: string }, { name: until, type: date }, { name: isbn, type: string } ]
      sets: { isbn: book, dueOn: until }
      emits: [BookBorrowed]
    - name: ExtendLoan
      aggregate: Loan
      changes: loan
      parameters: [ { name: loan, type: uuid }, { name: dueOn, type: date }, { name: renewals, type: int } ]
      sets: { renewals: renewals }
      requires: [ { field: status, one_of: [OPEN, LATE] }, { field: renewals, equals: 0 } ]
      emits: [LoanExtended]
  events:
    - { name: BookBorrowed, payload: [ { name: isbn, type: string }, { name: book, type: string }, { name: dueOn, type: date }, { name: id, type: uuid } ] }
    - { name: LoanExtended, payload: [ { name: loan, type: uuid }, { name: dueOn, type: date }, { name: renewals, type: int } ] }
`;
    const commands = commandsOf(files, 'Loan');
    const borrow = commands.get('BorrowBook')!;
    expect(effect(borrow)).toEqual({
      kind: 'create',
      idParam: undefined,
      sets: [{ field: 'isbn', param: 'book' }, { field: 'dueOn', param: 'until' }],
      preconditions: [],
    });
    // `book` sets isbn, so it carries isbn's rules; the parameter named `isbn` sets nothing and carries none.
    const rules = Object.fromEntries(borrow.input.fields.map((f) => [f.name, f.validation]));
    expect(rules).toEqual({ book: { pattern: '^[0-9X-]+$', max_length: 17 }, until: undefined, isbn: undefined });
    // isbn is set from `book`: the stored value; `book` is the input; dueOn, set from `until`, the stored value.
    expect(borrow.emits[0]!.payload).toEqual([
      { name: 'isbn', from: 'entity' },
      { name: 'book', from: 'input' },
      { name: 'dueOn', from: 'entity' },
      { name: 'id', from: 'id' },
    ]);

    const extend = commands.get('ExtendLoan')!;
    expect(effect(extend)).toEqual({
      kind: 'change',
      idParam: 'loan',
      sets: [{ field: 'renewals', param: 'renewals' }],
      preconditions: [{ field: 'status', oneOf: ['OPEN', 'LATE'] }, { field: 'renewals', equals: 0 }],
    });
    // dueOn is a parameter the declared `sets` leaves alone: the payload carries the stored dueOn, not the input.
    expect(extend.emits[0]!.payload).toEqual([
      { name: 'loan', from: 'input' },
      { name: 'dueOn', from: 'entity' },
      { name: 'renewals', from: 'input' },
    ]);
  });
});
