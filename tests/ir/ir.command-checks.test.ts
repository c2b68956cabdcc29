/**
 * Did-you-mean finds aggregates and never suggests a mangled name; commands and queries a generator can only
 * serve as nonsense get a warning (the model stays valid): a create that no parameter gives its required fields,
 * a command named like a change that names no instance, a query without a result or not returning an aggregate.
 */
import { describe, expect, it } from 'vitest';
import { readModel, type Diagnostic } from '../../services/ir/index.js';
import { loadFixture, PROJECT_YAML, withoutInfo } from '../helpers/ir-fixtures.js';

function diagnosticsOf(files: Record<string, string>): Diagnostic[] {
  return readModel({ 'ir/project.yaml': PROJECT_YAML, ...files }).diagnostics;
}

const LENDING = (extra: string) => `bounded_context:
  name: Lending
  namespace: library.lending
  aggregates:
    - name: Member
      root_entity:
        name: MemberEntity
        properties: [ { name: id, type: uuid, identifier: true }, { name: name, type: string } ]
    - name: Loan
      root_entity:
        name: LoanEntity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: memberId, type: uuid }
          - { name: isbn, type: string }
          - { name: dueOn, type: date }
          - { name: renewals, type: int, validation: { min: 0 } }
          - { name: lost, type: bool }
          - { name: returnedOn, type: date, required: false }
${extra}`;

describe('did-you-mean', () => {
  it('suggests an aggregate for `Membr`: as a query result, as a property type, and from another context', () => {
    const lending = LENDING(`  queries:
    - { name: FindMember, result: Membr }
  value_objects:
    - name: Borrower
      properties: [ { name: member, type: Membr } ]
`);
    const desk = `bounded_context:
  name: Desk
  namespace: library.desk
  commands:
    - { name: RegisterMember, aggregate: Membr }
`;
    const found = diagnosticsOf({ 'ir/contexts/lending.yaml': lending, 'ir/contexts/desk.yaml': desk }).filter((d) => d.severity === 'error');
    expect(found.map((d) => [d.code, d.pointer, d.suggestion])).toEqual([
      ['UNKNOWN_AGGREGATE', '/bounded_context/commands/0/aggregate', { message: 'did you mean `Member`?', replacement: 'Member' }],
      ['UNKNOWN_TYPE', '/bounded_context/queries/0/result', { message: 'did you mean `Member`?', replacement: 'Member' }],
      ['UNKNOWN_TYPE', '/bounded_context/value_objects/0/properties/0/type', {
        message: 'did you mean the aggregate `Member`? Refer to it as `MemberEntity`',
        replacement: 'MemberEntity',
      }],
    ]);
  });

  it('never suggests a name cut out of the input (`1stReminder` is not `stReminder`)', () => {
    const text = `bounded_context:
  name: Notices
  namespace: library.notices
  enums:
    - { name: Kind, values: [1st_NOTICE, 9_LATE] }
  events:
    - { name: 1stReminder }
    - { name: 3xReminder }
    - { name: 9Reminder }
    - name: Reminded
      payload: [ { name: 2ndDate, type: date } ]
`;
    const found = diagnosticsOf({ 'ir/contexts/notices.yaml': text }).map((d) => [d.pointer, d.suggestion?.replacement]);
    expect(found).toEqual([
      ['/bounded_context/enums/0/values/0', undefined],
      ['/bounded_context/enums/0/values/1', 'LATE'],
      ['/bounded_context/events/0/name', 'FirstReminder'],
      ['/bounded_context/events/1/name', undefined],
      ['/bounded_context/events/2/name', 'Reminder'],
      ['/bounded_context/events/3/payload/0/name', 'secondDate'],
    ]);
    for (const d of diagnosticsOf({ 'ir/contexts/notices.yaml': text })) expect(d.suggestion?.replacement ?? '').not.toMatch(/^st|^x/);
  });
});

describe('commands and queries a generator can only serve as nonsense', () => {
  it('warns about a create without its required fields, a change that names no instance, and queries it cannot serve', () => {
    const text = LENDING(`  commands:
    - { name: BorrowBook, aggregate: Loan }
    - { name: ReturnBook, aggregate: Loan, parameters: [ { name: memberId, type: uuid }, { name: isbn, type: string }, { name: dueOn, type: date } ] }
    - { name: RenewLoan, aggregate: Loan, parameters: [ { name: loanId, type: uuid } ] }
    - { name: RegisterMember, aggregate: Member, parameters: [ { name: name, type: string } ] }
  value_objects:
    - { name: Stats, properties: [ { name: count, type: int } ] }
  queries:
    - { name: OverdueLoans }
    - { name: LoanStats, result: Stats }
    - { name: MemberLoans, parameters: [ { name: memberId, type: uuid } ], result: List<Loan> }
`);
    const reading = readModel({ 'ir/project.yaml': PROJECT_YAML, 'ir/contexts/lending.yaml': text });
    expect(reading.valid).toBe(true);
    expect(reading.diagnostics.map(({ code, severity, pointer, message }) => ({ code, severity, pointer, message }))).toEqual([
      {
        code: 'COMMAND_MISSING_FIELDS',
        severity: 'warning',
        pointer: '/bounded_context/commands/0/name',
        message: '`BorrowBook` creates a `Loan` but no parameter gives its required fields `memberId`, `isbn`, `dueOn`; the generated service refuses it (400) rather than store an empty value',
      },
      {
        code: 'COMMAND_TARGET_UNCLEAR',
        severity: 'warning',
        pointer: '/bounded_context/commands/1/name',
        message: '`ReturnBook` reads like a change to an existing `Loan`, but no parameter names one, so it is generated as creating a new `Loan`',
      },
      {
        code: 'QUERY_NOT_SERVED',
        severity: 'warning',
        pointer: '/bounded_context/queries/0/name',
        message: 'query `OverdueLoans` has no `result`, so no generator can serve it: it is left out of the generated service',
      },
      {
        code: 'QUERY_NOT_SERVED',
        severity: 'warning',
        pointer: '/bounded_context/queries/1/result',
        message: expect.stringMatching(/^query `LoanStats` returns `Stats`, which is not an aggregate of `Lending`/),
      },
      {
        code: 'COMMAND_EFFECT_INFERRED',
        severity: 'info',
        pointer: '/project',
        message: expect.stringMatching(/^this model is IR schema version 1, so what 4 commands do is inferred/),
      },
    ]);
    const borrow = reading.diagnostics[0]!;
    expect(borrow.suggestion?.message).toContain('`{ name: memberId, type: uuid }`');
    expect(borrow.suggestion?.message).toContain('`{ name: loanId, type: uuid }`');
    expect(reading.diagnostics[1]!.suggestion?.message).toBe('if it changes one, add a parameter naming it: `{ name: loanId, type: uuid }`');
  });

  it('the example models hold no such command or query', () => {
    for (const name of ['ecommerce', 'hr-leave', 'library']) expect(withoutInfo(readModel(loadFixture(name)).diagnostics), name).toEqual([]);
  });
});
