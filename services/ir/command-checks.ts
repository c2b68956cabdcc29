/**
 * What a command does, as far as the IR says it today, and the rules that tell a command that can only produce
 * nonsense: a command creates its aggregate unless a parameter names an existing instance; a create must be given
 * every required field that has no meaningful starting value. The generators follow the same rules
 * (services/generators/ir-view.ts `refersToAggregate`, service-shape.ts `zero`) and refuse such a create with 400.
 */
import type { Property, ValidationRules } from './model.js';

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
  | { kind: 'enum' }
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
