/**
 * What a command does, declared: `creates: true` or `changes: <parameter>` (required from `schema_version: 2`,
 * inferred in version 1, which loads as before with one note), `sets` and `requires`, and the diagnostics a person
 * acts on when one of them cannot mean anything.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config.js';
import { readModel, type Diagnostic } from '../../services/ir/index.js';
import { loadFixture } from '../helpers/ir-fixtures.js';

const PROJECT = (version?: number) => `project:\n  name: Library\n${version === undefined ? '' : `  schema_version: ${version}\n`}  stack: { runtime: node }\n`;

const LENDING = (commands: string) => `bounded_context:
  name: Lending
  namespace: library.lending
  aggregates:
    - name: Loan
      root_entity:
        name: LoanEntity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: memberId, type: uuid }
          - { name: isbn, type: string }
          - { name: dueOn, type: date }
          - { name: renewals, type: int, validation: { min: 0 } }
          - { name: status, type: LoanStatus }
          - { name: lost, type: bool }
          - { name: fee, type: decimal, required: false }
          - { name: returnedOn, type: date, required: false }
      enums:
        - { name: LoanStatus, values: [OPEN, LATE, CLOSED] }
  commands:
${commands}`;

function read(commands: string, version?: number) {
  return readModel({ 'ir/project.yaml': PROJECT(version), 'ir/contexts/lending.yaml': LENDING(commands) });
}

const brief = (diagnostics: Diagnostic[]) => diagnostics.map((d) => ({ code: d.code, severity: d.severity, pointer: d.pointer, message: d.message, suggestion: d.suggestion }));

const BORROW = `    - name: BorrowBook
      aggregate: Loan
      creates: true
      parameters: [ { name: memberId, type: uuid }, { name: isbn, type: string }, { name: dueOn, type: date } ]
`;

describe('schema versions', () => {
  it('version 1 (no schema_version) loads as before: commands without the new keys are valid, with one info note at the project', () => {
    const reading = read(`    - { name: ReturnBook, aggregate: Loan, parameters: [ { name: loanId, type: uuid }, { name: returnedOn, type: date } ] }
    - { name: BorrowBook, aggregate: Loan, parameters: [ { name: memberId, type: uuid }, { name: isbn, type: string }, { name: dueOn, type: date } ] }
`);
    expect(reading.valid).toBe(true);
    expect(reading.model.project?.schema_version).toBeUndefined();
    expect(reading.model.contexts[0]!.context.commands[0]).toEqual({
      name: 'ReturnBook',
      aggregate: 'Loan',
      parameters: [ { name: 'loanId', type: 'uuid' }, { name: 'returnedOn', type: 'date' } ],
      emits: [],
      requires: [],
    });
    expect(reading.diagnostics.map((d) => [d.code, d.severity, d.file, d.pointer, d.line])).toEqual([['COMMAND_EFFECT_INFERRED', 'info', 'ir/project.yaml', '/project', 2]]);
    expect(reading.diagnostics[0]!.message).toBe(
      'this model is IR schema version 1, so what 2 commands do is inferred from their parameters (`ReturnBook` among them): a parameter named like the identifier makes a change, otherwise a create, and parameters named like fields set them',
    );
    expect(reading.diagnostics[0]!.suggestion?.message).toMatch(/^say it instead: add `schema_version: 2` under `project:`, and to each command `creates: true` or `changes: <the parameter naming the instance>`/);
  });

  it('version 1 accepts the new keys, and has no note once every command says what it does', () => {
    const reading = read(`${BORROW}    - { name: ReturnBook, aggregate: Loan, changes: loanId, requires: [ { field: returnedOn, is: unset } ], parameters: [ { name: loanId, type: uuid } ] }
`, 1);
    expect(reading.model.project?.schema_version).toBe(1);
    expect(reading.diagnostics).toEqual([]);
  });

  it('version 2 refuses a command that says neither `creates` nor `changes`, with the fix for it', () => {
    const reading = read(`    - { name: ReturnBook, aggregate: Loan, parameters: [ { name: loanId, type: uuid } ] }
    - { name: CloseLoan, aggregate: Loan, parameters: [ { name: fee, type: decimal } ] }
    - { name: OpenLoan, aggregate: Loan }
`, 2);
    expect(reading.valid).toBe(false);
    const errors = reading.diagnostics.filter((d) => d.severity === 'error');
    expect(brief(errors)).toEqual([
      {
        code: 'COMMAND_EFFECT_MISSING',
        severity: 'error',
        pointer: '/bounded_context/commands/0/name',
        message: '`ReturnBook` does not say what it does: from schema version 2 every command declares `creates: true` (it makes a new `Loan`) or `changes: <parameter>` (it changes the `Loan` that parameter names)',
        suggestion: { message: 'it names a `Loan` with `loanId`: add `changes: loanId`' },
      },
      expect.objectContaining({
        code: 'COMMAND_EFFECT_MISSING',
        pointer: '/bounded_context/commands/1/name',
        suggestion: { message: 'if it changes a `Loan`, add a parameter `{ name: loanId, type: uuid }` and `changes: loanId`; if it makes one, add `creates: true`' },
      }),
      expect.objectContaining({
        code: 'COMMAND_EFFECT_MISSING',
        pointer: '/bounded_context/commands/2/name',
        suggestion: { message: 'add `creates: true` if it makes a new `Loan`, or `changes: <parameter>` naming the `Loan` it changes (a parameter such as `{ name: loanId, type: uuid }`)' },
      }),
    ]);
    // No COMMAND_TARGET_UNCLEAR beside the error that says more; no version 1 note.
    expect(reading.diagnostics.map((d) => d.code)).not.toContain('COMMAND_TARGET_UNCLEAR');
    expect(reading.diagnostics.map((d) => d.code)).not.toContain('COMMAND_EFFECT_INFERRED');
  });

  it('refuses a schema_version it does not know', () => {
    const reading = readModel({ 'ir/project.yaml': PROJECT(3), 'ir/contexts/lending.yaml': LENDING('    []\n') });
    expect(brief(reading.diagnostics)).toEqual([
      { code: 'SCHEMA_INVALID_VALUE', severity: 'error', pointer: '/project/schema_version', message: '`schema_version` must be one of `1`, `2`, not the number `3`', suggestion: undefined },
    ]);
  });

  it("the agent prompt's example (prompts/agent/v2.md) is a valid version 2 model with no diagnostics", () => {
    const prompt = readFileSync(path.join(repoRoot, 'prompts', 'agent', 'v2.md'), 'utf8');
    const [project, context] = [...prompt.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const reading = readModel({ 'ir/project.yaml': project!, 'ir/contexts/leave.yaml': context! });
    expect(reading.diagnostics).toEqual([]);
    expect(reading.model.project?.schema_version).toBe(2);
  });

  it('the library example is version 2 and says what each command does', () => {
    const reading = readModel(loadFixture('library'));
    expect(reading.diagnostics).toEqual([]);
    expect(reading.model.project?.schema_version).toBe(2);
    const commands = reading.model.contexts[0]!.context.commands;
    expect(commands.map(({ name, creates, changes, requires }) => ({ name, creates, changes, requires }))).toEqual([
      { name: 'BorrowBook', creates: true, changes: undefined, requires: [] },
      { name: 'ReturnBook', creates: undefined, changes: 'loanId', requires: [{ field: 'returnedOn', is: 'unset' }] },
      { name: 'RenewLoan', creates: undefined, changes: 'loanId', requires: [{ field: 'returnedOn', is: 'unset' }] },
    ]);
  });
});

describe('creates and changes', () => {
  it('`changes` must name a parameter (did you mean), of the identifier type', () => {
    const reading = read(`    - { name: ReturnBook, aggregate: Loan, changes: loanID, parameters: [ { name: loanId, type: uuid } ] }
    - { name: RenewLoan, aggregate: Loan, changes: isbn, parameters: [ { name: isbn, type: string }, { name: loan, type: uuid } ] }
    - { name: LoseLoan, aggregate: Loan, changes: loanId, parameters: [ { name: reason, type: string } ] }
`, 2);
    expect(brief(reading.diagnostics)).toEqual([
      {
        code: 'UNKNOWN_PARAMETER',
        severity: 'error',
        pointer: '/bounded_context/commands/0/changes',
        message: '`changes` names `loanID`, which is not a parameter of `ReturnBook`',
        suggestion: { message: 'did you mean `loanId`?', replacement: 'loanId' },
      },
      {
        code: 'TYPE_MISMATCH',
        severity: 'error',
        pointer: '/bounded_context/commands/1/changes',
        message: '`changes` names `isbn`, of type `string`; it must name the `Loan` by its identifier `id`, of type `uuid`',
        suggestion: { message: 'did you mean `loan`?', replacement: 'loan' },
      },
      {
        code: 'UNKNOWN_PARAMETER',
        severity: 'error',
        pointer: '/bounded_context/commands/2/changes',
        message: '`changes` names `loanId`, which is not a parameter of `LoseLoan`',
        suggestion: { message: 'add the parameter: `{ name: loanId, type: uuid }`' },
      },
    ]);
  });

  it('`creates` together with `changes` is a conflict', () => {
    const reading = read(`    - { name: ReturnBook, aggregate: Loan, creates: true, changes: loanId, parameters: [ { name: loanId, type: uuid } ] }
`, 2);
    expect(brief(reading.diagnostics)).toEqual([
      {
        code: 'COMMAND_EFFECT_CONFLICT',
        severity: 'error',
        pointer: '/bounded_context/commands/0/creates',
        message: '`ReturnBook` says both `creates: true` and `changes: loanId`; a command either makes a new `Loan` or changes an existing one',
        suggestion: { message: 'keep `changes: loanId` if it changes the `Loan` that parameter names, else keep `creates: true`' },
      },
    ]);
  });

  it('`creates: false` is not a value: a command that does not create says `changes`', () => {
    const reading = read(`    - { name: ReturnBook, aggregate: Loan, creates: false, changes: loanId, parameters: [ { name: loanId, type: uuid } ] }
`, 2);
    expect(brief(reading.diagnostics)).toEqual([
      expect.objectContaining({ code: 'SCHEMA_INVALID_VALUE', pointer: '/bounded_context/commands/0/creates', message: '`creates` must be one of `true`, not the boolean `false`' }),
    ]);
  });

  it('a declared create leaving required fields without a start value warns; one named like a change does not (it said so)', () => {
    const reading = read(`    - { name: ReturnBook, aggregate: Loan, creates: true, parameters: [ { name: memberId, type: uuid }, { name: isbn, type: string } ] }
`, 2);
    expect(brief(reading.diagnostics)).toEqual([
      {
        code: 'COMMAND_MISSING_FIELDS',
        severity: 'warning',
        pointer: '/bounded_context/commands/0/parameters',
        message: '`ReturnBook` creates a `Loan` but no parameter gives its required field `dueOn`; the generated service refuses it (400) rather than store an empty value',
        suggestion: {
          message: 'add a parameter of the same name and type (`{ name: dueOn, type: date }`), make it `required: false`, or, if the command changes an existing `Loan`, say `changes: loanId` with a parameter `{ name: loanId, type: uuid }`',
        },
      },
    ]);
  });
});

describe('sets', () => {
  it('maps fields to parameters of other names, and COMMAND_MISSING_FIELDS follows it', () => {
    const ok = read(`    - name: BorrowBook
      aggregate: Loan
      creates: true
      parameters: [ { name: member, type: uuid }, { name: book, type: string }, { name: until, type: date } ]
      sets: { memberId: member, isbn: book, dueOn: until }
`, 2);
    expect(ok.diagnostics).toEqual([]);
    expect(ok.model.contexts[0]!.context.commands[0]!.sets).toEqual({ memberId: 'member', isbn: 'book', dueOn: 'until' });

    // Same-named parameters set nothing once `sets` is given: only what it maps counts.
    const partial = read(`    - name: BorrowBook
      aggregate: Loan
      creates: true
      parameters: [ { name: memberId, type: uuid }, { name: isbn, type: string }, { name: dueOn, type: date } ]
      sets: { memberId: memberId }
`, 2);
    expect(brief(partial.diagnostics)).toEqual([
      {
        code: 'COMMAND_MISSING_FIELDS',
        severity: 'warning',
        pointer: '/bounded_context/commands/0/sets',
        message: '`BorrowBook` creates a `Loan` but its `sets` leaves out its required fields `isbn`, `dueOn`; the generated service refuses it (400) rather than store an empty value',
        suggestion: {
          message: 'set them from parameters (`sets: { isbn: <parameter> }`), make them `required: false`, or, if the command changes an existing `Loan`, say `changes: loanId` with a parameter `{ name: loanId, type: uuid }`',
        },
      },
    ]);
  });

  it('reports an unknown field or parameter (did you mean), the identifier, and types that differ', () => {
    const reading = read(`    - name: RenewLoan
      aggregate: Loan
      changes: loanId
      parameters: [ { name: loanId, type: uuid }, { name: until, type: date }, { name: count, type: string } ]
      sets: { dueOnn: until, dueOn: untill, renewals: count, id: loanId, lost: nothing }
`, 2);
    const at = '/bounded_context/commands/0/sets';
    expect(brief(reading.diagnostics)).toEqual([
      {
        code: 'UNKNOWN_PROPERTY',
        severity: 'error',
        pointer: `${at}/dueOnn`,
        message: '`sets` names `dueOnn`, which is not a field of the root entity of `Loan`',
        suggestion: { message: 'did you mean `dueOn`?', replacement: 'dueOn' },
      },
      {
        code: 'UNKNOWN_PARAMETER',
        severity: 'error',
        pointer: `${at}/dueOn`,
        message: '`sets` takes `dueOn` from `untill`, which is not a parameter of `RenewLoan`',
        suggestion: { message: 'did you mean `until`?', replacement: 'until' },
      },
      {
        code: 'TYPE_MISMATCH',
        severity: 'error',
        pointer: `${at}/renewals`,
        message: '`sets` takes `renewals` (of type `int`) from `count`, of type `string`; a field is set only from a parameter of its own type',
        suggestion: { message: 'give `count` the type `int`, or set another field from it' },
      },
      {
        code: 'COMMAND_EFFECT_CONFLICT',
        severity: 'error',
        pointer: `${at}/id`,
        message: '`sets` names `id`, the identifier of `Loan`: an identity is given when an instance is made and never changes',
        suggestion: { message: 'remove `id` from `sets`' },
      },
      {
        code: 'UNKNOWN_PARAMETER',
        severity: 'error',
        pointer: `${at}/lost`,
        message: '`sets` takes `lost` from `nothing`, which is not a parameter of `RenewLoan`',
        suggestion: { message: 'add the parameter: `{ name: nothing, type: bool }`' },
      },
    ]);
  });
});

describe('sets, as the schema sees it', () => {
  it('points at a field name that is no name, once, and at a parameter that is no string', () => {
    const reading = read(`    - name: RenewLoan
      aggregate: Loan
      changes: loanId
      parameters: [ { name: loanId, type: uuid }, { name: dueOn, type: date } ]
      sets: { Due-On: dueOn, renewals: 3 }
`, 2);
    const schema = reading.diagnostics.filter((d) => d.code.startsWith('SCHEMA_') || d.code === 'INVALID_IDENTIFIER');
    expect(schema.map(({ code, pointer, line, column, message, suggestion }) => ({ code, pointer, line, column, message, suggestion }))).toEqual([
      {
        code: 'INVALID_IDENTIFIER',
        pointer: '/bounded_context/commands/0/sets/Due-On',
        line: 25,
        column: 15,
        message: '`Due-On` is not valid here: property and parameter names start with a lowercase letter, then letters, digits or `_`',
        suggestion: { message: 'did you mean `dueOn`?', replacement: 'dueOn' },
      },
      {
        code: 'SCHEMA_TYPE',
        pointer: '/bounded_context/commands/0/sets/renewals',
        line: 25,
        column: 40,
        message: '`renewals` must be a string, not the number `3`',
        suggestion: undefined,
      },
    ]);
  });
});

describe('requires', () => {
  it('accepts is, equals and one_of with values that fit their field', () => {
    const reading = read(`    - name: ReturnBook
      aggregate: Loan
      changes: loanId
      parameters: [ { name: loanId, type: uuid } ]
      requires:
        - { field: returnedOn, is: unset }
        - { field: status, one_of: [OPEN, LATE] }
        - { field: lost, equals: false }
        - { field: renewals, equals: 0 }
        - { field: fee, one_of: [0, 1.5] }
        - { field: isbn, equals: "978-0" }
        - { field: dueOn, equals: "2024-02-29" }
        - { field: memberId, equals: 00000000-0000-4000-8000-000000000001 }
`, 2);
    expect(reading.diagnostics).toEqual([]);
    expect(reading.model.contexts[0]!.context.commands[0]!.requires.slice(0, 3)).toEqual([
      { field: 'returnedOn', is: 'unset' },
      { field: 'status', one_of: ['OPEN', 'LATE'] },
      { field: 'lost', equals: false },
    ]);
  });

  it('reports an unknown field, a value that does not fit, a required field required unset, and requires on a create', () => {
    const reading = read(`    - name: ReturnBook
      aggregate: Loan
      changes: loanId
      parameters: [ { name: loanId, type: uuid } ]
      requires:
        - { field: returnedOnn, is: unset }
        - { field: status, equals: CLOSD }
        - { field: renewals, one_of: [0, 1.5] }
        - { field: lost, equals: "no" }
        - { field: dueOn, is: unset }
        - { field: isbn, equals: 978 }
${BORROW}      requires: [ { field: status, equals: OPEN } ]
`, 2);
    const at = '/bounded_context/commands/0/requires';
    expect(brief(reading.diagnostics)).toEqual([
      {
        code: 'UNKNOWN_PROPERTY',
        severity: 'error',
        pointer: `${at}/0/field`,
        message: '`requires` names `returnedOnn`, which is not a field of the root entity of `Loan`',
        suggestion: { message: 'did you mean `returnedOn`?', replacement: 'returnedOn' },
      },
      {
        code: 'INVALID_REQUIREMENT',
        severity: 'error',
        pointer: `${at}/1/equals`,
        message: '`status` can never equal this: `"CLOSD"` is not a value of `LoanStatus` (`OPEN`, `LATE`, `CLOSED`)',
        suggestion: { message: 'did you mean `CLOSED`?', replacement: 'CLOSED' },
      },
      {
        code: 'INVALID_REQUIREMENT',
        severity: 'error',
        pointer: `${at}/2/one_of/1`,
        message: '`renewals` can never equal this: `1.5` is not of type `int`: write a whole number',
        suggestion: undefined,
      },
      {
        code: 'INVALID_REQUIREMENT',
        severity: 'error',
        pointer: `${at}/3/equals`,
        message: '`lost` can never equal this: `"no"` is not of type `bool`: write `true` or `false`',
        suggestion: undefined,
      },
      {
        code: 'INVALID_REQUIREMENT',
        severity: 'error',
        pointer: `${at}/4/is`,
        message: '`dueOn` is required, so it is never unset: `ReturnBook` would always be refused',
        suggestion: { message: 'make `dueOn` `required: false`, or require something else' },
      },
      {
        code: 'INVALID_REQUIREMENT',
        severity: 'error',
        pointer: `${at}/5/equals`,
        message: '`isbn` can never equal this: `978` is not of type `string`: write a string (quote it)',
        suggestion: undefined,
      },
      {
        code: 'INVALID_REQUIREMENT',
        severity: 'error',
        pointer: '/bounded_context/commands/1/requires',
        message: '`BorrowBook` creates a `Loan`, so there is no stored one for `requires` to check',
        suggestion: { message: 'remove `requires`, or, if it changes an existing `Loan`, say `changes: <parameter>` naming it' },
      },
    ]);
  });

  it('compares only fields of a scalar or enum type with a value', () => {
    const reading = readModel({
      'ir/project.yaml': PROJECT(2),
      'ir/contexts/lending.yaml': LENDING(`    - name: ReturnBook
      aggregate: Loan
      changes: loanId
      parameters: [ { name: loanId, type: uuid } ]
      requires: [ { field: tags, one_of: [a, b] }, { field: tags, is: set } ]
`).replace('          - { name: lost, type: bool }\n', '          - { name: lost, type: bool }\n          - { name: tags, type: List<string>, required: false }\n'),
    });
    expect(brief(reading.diagnostics)).toEqual([
      {
        code: 'INVALID_REQUIREMENT',
        severity: 'error',
        pointer: '/bounded_context/commands/0/requires/0/one_of',
        message: '`tags` is a `List<string>`; `equals` and `one_of` compare a field of a scalar or enum type with a value',
        suggestion: { message: 'require `{ field: tags, is: set }` (or `unset`) instead' },
      },
    ]);
  });

  it('a requirement has exactly one condition (schema)', () => {
    const reading = read(`    - name: ReturnBook
      aggregate: Loan
      changes: loanId
      parameters: [ { name: loanId, type: uuid } ]
      requires: [ { field: returnedOn }, { field: status, equals: OPEN, is: set }, { field: status, is: maybe }, { field: status, one_of: [] } ]
`, 2);
    expect(brief(reading.diagnostics)).toEqual([
      expect.objectContaining({
        code: 'SCHEMA_INVALID_VALUE',
        pointer: '/bounded_context/commands/0/requires/0',
        message: 'a requirement names its `field` and exactly one condition; this one has none',
      }),
      expect.objectContaining({
        code: 'SCHEMA_INVALID_VALUE',
        pointer: '/bounded_context/commands/0/requires/1',
        message: 'a requirement names its `field` and exactly one condition; this one has 2',
      }),
      expect.objectContaining({
        code: 'SCHEMA_INVALID_VALUE',
        pointer: '/bounded_context/commands/0/requires/2/is',
        message: '`is` must be one of `set`, `unset`, not the string `maybe`',
      }),
      expect.objectContaining({
        code: 'SCHEMA_INVALID_VALUE',
        pointer: '/bounded_context/commands/0/requires/3/one_of',
        message: '`one_of` is empty; it needs at least 1 entry',
      }),
    ]);
  });
});
