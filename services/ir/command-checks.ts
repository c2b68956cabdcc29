/**
 * What a command does, and the rules that tell a command that can only produce nonsense. A command says so with
 * `creates: true` or `changes: <parameter>` (required from schema version 2); without either, it creates its
 * aggregate unless a parameter names an existing instance. It sets the root entity fields its `sets` maps, or
 * those named like its parameters; a create must set every required field that has no meaningful starting value.
 * The generators follow the same rules (services/generators/ir-view.ts, service-shape.ts `zero`) and refuse such
 * a create with 400.
 */
import type { Command, Property, RequirementValue, ValidationRules } from './model.js';

const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * A parameter names the instance a command changes when it has the identifier's type and a name that says so:
 * the identifier's own name, `<aggregate>Id`, or `<suffix>Id` where the aggregate's name ends with the suffix.
 */
export function namesInstance(param: Pick<Property, 'name' | 'type'>, aggregate: string, identifier: Pick<Property, 'name' | 'type'>): boolean {
  const bare = (type: string) => type.replace(/\s+/g, '').replace(/^[A-Za-z0-9_]+\./, '');
  if (bare(param.type) !== bare(identifier.type)) return false;
  if (param.name === identifier.name || param.name === `${lowerFirst(aggregate)}Id`) return true;
  const prefix = /^(.+)Id$/.exec(param.name)?.[1];
  return prefix !== undefined && aggregate.endsWith(upperFirst(prefix));
}

/** First words of command names that read as changing something that exists (`ReturnBook`, `CancelOrder`). */
export const CHANGE_VERBS: ReadonlySet<string> = new Set([
  'Accept', 'Activate', 'Adjust', 'Approve', 'Archive', 'Assign', 'Block', 'Cancel', 'Capture', 'Change', 'Close',
  'Complete', 'Confirm', 'Deactivate', 'Decline', 'Decrease', 'Deduct', 'Delete', 'Deliver', 'Edit', 'End', 'Expire',
  'Extend', 'Finish', 'Increase', 'Lock', 'Mark', 'Modify', 'Move', 'Pay', 'Publish', 'Reject', 'Release', 'Remove',
  'Rename', 'Renew', 'Reopen', 'Reschedule', 'Reserve', 'Resolve', 'Restock', 'Restore', 'Return', 'Revoke', 'Settle',
  'Ship', 'Suspend', 'Transfer', 'Unblock', 'Unlock', 'Unpublish', 'Update', 'Void', 'Withdraw',
]);

/** The first word of a PascalCase name (`ReturnBook` -> `Return`). */
export const firstWord = (name: string): string => /^[A-Z][a-z0-9]*/.exec(name)?.[0] ?? name;

/** A property's type as far as the starting-value rule needs it; `object` carries its properties. */
export type Shape =
  | { kind: 'scalar'; type: string }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'list' }
  | { kind: 'object'; properties: Property[]; context: string }
  | { kind: 'unknown' };

/**
 * Whether a required property left out by a create has a meaningful starting value: numbers (0, when the rules
 * allow it), flags (false), enums (their first value), lists (empty, when allowed), `datetime` (now), and value
 * objects made only of those. Not identifiers, texts or dates: a zero id, an empty name or 1970 mean nothing.
 */
export function hasStartingValue(
  property: Property,
  context: string,
  shapeOf: (type: string, context: string) => Shape,
  depth = 0,
): boolean {
  if (depth > 8) return false;
  const rules: ValidationRules = property.validation ?? {};
  const shape = shapeOf(property.type, context);
  switch (shape.kind) {
    case 'scalar':
      if (shape.type === 'int' || shape.type === 'decimal') return (rules.min ?? 0) <= 0 && (rules.max ?? 0) >= 0;
      return shape.type === 'bool' || (shape.type === 'datetime' && depth === 0);
    case 'enum':
      return true;
    case 'list':
      return (rules.min_length ?? 0) === 0;
    case 'object':
      return shape.properties.every((p) => p.required === false || hasStartingValue(p, shape.context, shapeOf, depth + 1));
    case 'unknown':
      return false;
  }
}

/** The parameter naming the instance a command changes: the declared one, else one whose name says so. */
export function instanceParameter(command: Command, aggregate: string, identifier: Pick<Property, 'name' | 'type'>): Property | undefined {
  if (command.changes !== undefined) return command.parameters.find((p) => p.name === command.changes);
  if (command.creates === true) return undefined;
  return command.parameters.find((p) => namesInstance(p, aggregate, identifier));
}

/** Root entity field <- parameter: the declared `sets`, else every parameter named like a field but the identifier. */
export function fieldsSet(command: Command, root: readonly Property[], instanceParam: string | undefined): Array<{ field: string; param: string }> {
  if (command.sets !== undefined) return Object.entries(command.sets).map(([field, param]) => ({ field, param }));
  const settable = new Set(root.filter((p) => p.identifier !== true).map((p) => p.name));
  return command.parameters.filter((p) => settable.has(p.name) && p.name !== instanceParam).map((p) => ({ field: p.name, param: p.name }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const describe = (value: RequirementValue): string => (typeof value === 'string' ? `\`${JSON.stringify(value)}\`` : `\`${String(value)}\``);

/**
 * Why `value` cannot be a value of a field of this shape (undefined when it can): a requirement compares a stored
 * field with values the field could hold, so `equals: CLOSED` on an enum without `CLOSED` would never hold.
 */
export function misfit(value: RequirementValue, shape: Extract<Shape, { kind: 'scalar' | 'enum' }>, type: string): string | undefined {
  switch (shape.kind) {
    case 'enum':
      return typeof value === 'string' && shape.values.includes(value) ? undefined : `${describe(value)} is not a value of \`${type}\` (${shape.values.map((v) => `\`${v}\``).join(', ')})`;
    case 'scalar': {
      const fits =
        shape.type === 'int' ? Number.isInteger(value)
        : shape.type === 'decimal' ? typeof value === 'number'
        : shape.type === 'bool' ? typeof value === 'boolean'
        : shape.type === 'uuid' ? typeof value === 'string' && UUID.test(value)
        : shape.type === 'date' ? typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value))
        : shape.type === 'datetime' ? typeof value === 'string' && !Number.isNaN(Date.parse(value))
        : typeof value === 'string';
      const what: Record<string, string> = { int: 'a whole number', decimal: 'a number', bool: '`true` or `false`', uuid: 'a UUID', date: 'a date (`2024-01-31`)', datetime: 'an ISO date and time', string: 'a string (quote it)' };
      return fits ? undefined : `${describe(value)} is not of type \`${type}\`: write ${what[shape.type] ?? `a \`${shape.type}\``}`;
    }
  }
}
