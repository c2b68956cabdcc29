/**
 * The JSON Schema (2020-12) of one IR file, and its compiled validator. `ir.schema.json` beside this file is
 * this constant written out for editors; a test keeps the two equal.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { RELATIONSHIP_KINDS, RUNTIMES } from './model.js';

/** PascalCase: contexts, aggregates, entities, value objects, enums, commands, events, queries. */
export const TYPE_NAME_PATTERN = '^[A-Z][A-Za-z0-9]*$';
/** camelCase or snake_case: properties and parameters. */
export const MEMBER_NAME_PATTERN = '^[a-z][A-Za-z0-9_]*$';
export const ENUM_VALUE_PATTERN = '^[A-Za-z][A-Za-z0-9_]*$';
export const NAMESPACE_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$';
/** A scalar or a (possibly `Context.`-qualified) name, optionally wrapped in `List<...>`. */
export const TYPE_EXPRESSION_PATTERN =
  '^(List<\\s*[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)?\\s*>|[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)?)$';

const typeName = { type: 'string', pattern: TYPE_NAME_PATTERN };
const description = { type: 'string' };
const named = (extra: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  required: ['name', ...required],
  properties: { name: typeName, description, ...extra },
});
const list = (ref: string) => ({ type: 'array', items: { $ref: `#/$defs/${ref}` } });

export const irSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://vaporform.dev/schemas/ir.schema.json',
  title: 'Vaporform IR file',
  description:
    'One file under ir/: either the project (ir/project.yaml) or one bounded context (ir/contexts/<name>.yaml).',
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    project: { $ref: '#/$defs/project' },
    bounded_context: { $ref: '#/$defs/boundedContext' },
  },
  $defs: {
    project: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'stack'],
      properties: {
        name: { type: 'string', minLength: 1 },
        description,
        stack: {
          type: 'object',
          additionalProperties: false,
          required: ['runtime'],
          properties: {
            runtime: { enum: [...RUNTIMES] },
            framework: { type: 'string' },
            database: { type: 'string' },
          },
        },
      },
    },
    boundedContext: named(
      {
        namespace: { type: 'string', pattern: NAMESPACE_PATTERN },
        aggregates: list('aggregate'),
        value_objects: list('valueObject'),
        enums: list('enum'),
        commands: list('command'),
        events: list('event'),
        queries: list('query'),
        relationships: list('relationship'),
      },
      ['namespace'],
    ),
    typeExpression: { type: 'string', pattern: TYPE_EXPRESSION_PATTERN },
    property: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'type'],
      properties: {
        name: { type: 'string', pattern: MEMBER_NAME_PATTERN },
        type: { $ref: '#/$defs/typeExpression' },
        identifier: { type: 'boolean' },
        required: { type: 'boolean' },
        description,
        validation: {
          type: 'object',
          additionalProperties: false,
          properties: {
            min: { type: 'number' },
            max: { type: 'number' },
            min_length: { type: 'integer', minimum: 0 },
            max_length: { type: 'integer', minimum: 0 },
            pattern: { type: 'string' },
          },
        },
      },
    },
    entity: named({ properties: list('property') }, ['properties']),
    valueObject: named({ properties: list('property') }, ['properties']),
    enum: named(
      { values: { type: 'array', minItems: 1, items: { type: 'string', pattern: ENUM_VALUE_PATTERN } } },
      ['values'],
    ),
    aggregate: named(
      {
        root_entity: { $ref: '#/$defs/entity' },
        entities: list('entity'),
        value_objects: list('valueObject'),
        enums: list('enum'),
      },
      ['root_entity'],
    ),
    command: named(
      {
        aggregate: typeName,
        parameters: list('property'),
        emits: { type: 'array', items: { type: 'string', pattern: TYPE_EXPRESSION_PATTERN } },
      },
      ['aggregate'],
    ),
    event: named({ aggregate: typeName, payload: list('property') }),
    query: named({ parameters: list('property'), result: { $ref: '#/$defs/typeExpression' } }),
    relationship: {
      type: 'object',
      additionalProperties: false,
      required: ['from', 'to', 'kind'],
      properties: {
        from: typeName,
        to: typeName,
        kind: { enum: [...RELATIONSHIP_KINDS] },
        via: { type: 'string', pattern: MEMBER_NAME_PATTERN },
        description,
      },
    },
  },
} as const;

// allErrors: a person fixing a file wants every problem at once.
// verbose: errors carry the value and the schema they concern (for messages and did-you-mean).
const ajv = new Ajv2020.default({ allErrors: true, strict: true, verbose: true });
const validate: ValidateFunction = ajv.compile(irSchema);

/** Schema errors of one parsed file (empty when valid). */
export function schemaErrors(data: unknown): ErrorObject[] {
  return validate(data) ? [] : [...(validate.errors ?? [])];
}
