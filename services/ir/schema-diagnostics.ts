/** Turns ajv's schema errors into diagnostics a person or an LLM can act on. */
import type { ErrorObject } from 'ajv';
import { toCamelCase, toPascalCase, type Diagnostic, type Suggester, type Suggestion } from './diagnostics.js';
import { SCALAR_TYPES } from './model.js';
import { escapePointerToken, locate, type ParsedFile } from './parse.js';
import {
  ENUM_VALUE_PATTERN,
  irSchema,
  MEMBER_NAME_PATTERN,
  NAMESPACE_PATTERN,
  schemaErrors,
  TYPE_EXPRESSION_PATTERN,
  TYPE_NAME_PATTERN,
} from './schema.js';

const JSON_TYPE_NAMES: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  null: 'null',
};

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value === 'string' ? 'the string' : typeof value === 'boolean' ? 'the boolean' : 'the number'} \`${String(value)}\``;
}

function fieldName(pointer: string): string {
  if (pointer === '') return 'the file';
  const last = pointer.slice(pointer.lastIndexOf('/') + 1);
  return /^\d+$/.test(last) ? `entry ${last}` : `\`${last}\``;
}

interface PatternRule {
  code: Diagnostic['code'];
  explain: string;
  fix: (value: string) => string | undefined;
}

const PATTERN_RULES: Record<string, PatternRule> = {
  [TYPE_NAME_PATTERN]: {
    code: 'INVALID_IDENTIFIER',
    explain: 'names of contexts, aggregates, entities, value objects, enums, commands, events and queries are PascalCase: a capital letter first, then letters and digits',
    fix: toPascalCase,
  },
  [MEMBER_NAME_PATTERN]: {
    code: 'INVALID_IDENTIFIER',
    explain: 'property and parameter names start with a lowercase letter, then letters, digits or `_`',
    fix: toCamelCase,
  },
  [ENUM_VALUE_PATTERN]: {
    code: 'INVALID_IDENTIFIER',
    explain: 'enum values start with a letter, then letters, digits or `_`',
    // `1st_CLASS` has no mechanical fix: cutting the digits off would leave `st_CLASS`.
    fix: (value) => (/^[^A-Za-z]*[0-9][A-Za-z]/.test(value) ? undefined : value.replace(/^[^A-Za-z]+/, '').replace(/[^A-Za-z0-9_]+/g, '_') || undefined),
  },
  [NAMESPACE_PATTERN]: {
    code: 'INVALID_IDENTIFIER',
    explain: 'a namespace is lowercase words separated by dots, e.g. `acme.order`',
    fix: (value) =>
      /(^|\.)[0-9_]*[0-9][a-zA-Z]/.test(value)
        ? undefined
        : value
            .toLowerCase()
            .replace(/[^a-z0-9_.]+/g, '_')
            .replace(/(^|\.)[0-9_]+/g, '$1') || undefined,
  },
  [TYPE_EXPRESSION_PATTERN]: {
    code: 'INVALID_TYPE_EXPRESSION',
    explain: `a type is a scalar (${SCALAR_TYPES.join(', ')}), a type name, \`Context.TypeName\`, or \`List<T>\` of one of those`,
    fix: () => undefined,
  },
};

/** The fields a schema object allows, one array per schema so that suggestions reuse their index. */
const allowedFields = new WeakMap<object, string[]>();
function fieldsOf(schema: { properties?: object } | undefined): string[] {
  if (!schema) return [];
  let fields = allowedFields.get(schema);
  if (!fields) {
    fields = Object.keys(schema.properties ?? {});
    allowedFields.set(schema, fields);
  }
  return fields;
}

function translate(parsed: ParsedFile, error: ErrorObject, suggester: Suggester): Diagnostic {
  const base = { severity: 'error' as const, file: parsed.file };
  // A key that breaks `propertyNames` (a field named in `sets`) is pointed at itself.
  const key = error.propertyName;
  const pointer = key === undefined ? error.instancePath : `${error.instancePath}/${escapePointerToken(key)}`;
  const here = (p: string, at: 'key' | 'value' = key === undefined ? 'value' : 'key') => ({ pointer: p, ...locate(parsed, p, at) });
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(error.params['additionalProperty']);
      const allowed = fieldsOf(error.parentSchema as { properties?: object } | undefined);
      const suggestion: Suggestion = suggester.didYouMean(field, allowed) ?? {
        message: `remove \`${field}\`; the fields allowed here are ${allowed.map((name) => `\`${name}\``).join(', ')}`,
      };
      return {
        ...base,
        code: 'SCHEMA_UNKNOWN_FIELD',
        ...here(`${pointer}/${field}`, 'key'),
        message: `unknown field \`${field}\``,
        suggestion,
      };
    }
    case 'required':
      return {
        ...base,
        code: 'SCHEMA_MISSING_FIELD',
        ...here(pointer),
        message: `missing required field \`${String(error.params['missingProperty'])}\``,
      };
    case 'type':
      return {
        ...base,
        code: 'SCHEMA_TYPE',
        ...here(pointer),
        message: `${fieldName(pointer)} must be ${String(error.params['type'])
          .split(',')
          .map((type) => JSON_TYPE_NAMES[type] ?? type)
          .join(' or ')}, not ${describeValue(error.data)}`,
      };
    case 'pattern': {
      const value = String(error.data);
      const rule = PATTERN_RULES[String(error.params['pattern'])];
      if (!rule) break;
      const fixed = rule.fix(value);
      // A suggestion is only ever a name the rule accepts, never a half-repaired one.
      const valid = fixed !== undefined && fixed !== value && new RegExp(String(error.params['pattern']), 'u').test(fixed);
      return {
        ...base,
        code: rule.code,
        ...here(pointer),
        message: `\`${value}\` is not valid here: ${rule.explain}`,
        ...(valid
          ? { suggestion: { message: `did you mean \`${fixed}\`?`, replacement: fixed } }
          : {}),
      };
    }
    case 'enum': {
      const allowed = (error.params['allowedValues'] as unknown[]).map(String);
      const suggestion = typeof error.data === 'string' ? suggester.didYouMean(error.data, allowed) : undefined;
      return {
        ...base,
        code: 'SCHEMA_INVALID_VALUE',
        ...here(pointer),
        message: `${fieldName(pointer)} must be one of ${allowed.map((value) => `\`${value}\``).join(', ')}, not ${describeValue(error.data)}`,
        ...(suggestion ? { suggestion } : {}),
      };
    }
    case 'maxLength':
      return {
        ...base,
        code: 'SCHEMA_INVALID_VALUE',
        ...here(pointer),
        message: `${fieldName(pointer)} is ${String(error.data).length} characters long; at most ${String(error.params['limit'])} are allowed here`,
        suggestion: { message: 'shorten it' },
      };
    case 'maxItems':
      return {
        ...base,
        code: 'SCHEMA_INVALID_VALUE',
        ...here(pointer),
        message: `${fieldName(pointer)} holds ${(error.data as unknown[]).length} entries; at most ${String(error.params['limit'])} are allowed here`,
        suggestion: { message: 'split it (a bounded context per area of the domain) or remove entries' },
      };
    case 'minItems': {
      const limit = Number(error.params['limit']);
      const held = (error.data as unknown[]).length;
      return {
        ...base,
        code: 'SCHEMA_INVALID_VALUE',
        ...here(pointer),
        message: `${fieldName(pointer)} ${held === 0 ? 'is empty' : `holds ${held}`}; it needs at least ${limit} ${limit === 1 ? 'entry' : 'entries'}`,
      };
    }
    case 'maximum':
      return {
        ...base,
        code: 'SCHEMA_INVALID_VALUE',
        ...here(pointer),
        message: `${fieldName(pointer)} is ${String(error.data)}; at most ${String(error.params['limit'])} is allowed here`,
      };
    case 'minProperties':
    case 'maxProperties':
      if (error.parentSchema === irSchema.$defs.requirement)
        return {
          ...base,
          code: 'SCHEMA_INVALID_VALUE',
          ...here(pointer),
          message: `a requirement names its \`field\` and exactly one condition; this one has ${Object.keys(error.data as object).filter((key) => key !== 'field').length || 'none'}`,
          suggestion: { message: 'write one of `{ field: returnedOn, is: unset }` (or `set`), `{ field: status, equals: OPEN }`, `{ field: status, one_of: [OPEN, LATE] }`; list several requirements for several conditions' },
        };
      if (pointer === '')
        return {
          ...base,
          code: 'SCHEMA_INVALID_VALUE',
          ...here(pointer),
          message: 'an IR file holds exactly one top-level key: `project` (ir/project.yaml) or `bounded_context`',
        };
      break;
  }
  return { ...base, code: 'SCHEMA_INVALID_VALUE', ...here(pointer), message: `${fieldName(pointer)} ${error.message ?? 'is invalid'}` };
}

/** Schema diagnostics of one parsed file; a wrong root (not a map) yields one diagnostic rather than many. */
export function checkSchema(parsed: ParsedFile, suggester: Suggester): Diagnostic[] {
  // A `propertyNames` error only wraps the error about the key itself, which says more.
  return schemaErrors(parsed.data)
    .filter((error) => error.keyword !== 'propertyNames')
    .map((error) => translate(parsed, error, suggester));
}
