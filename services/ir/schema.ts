/**
 * The JSON Schema (2020-12) of one IR file, and its compiled validator. `ir.schema.json` beside this file is
 * this constant written out for editors; a test keeps the two equal.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { IR_LIMITS, SCHEMA_BOUNDS as B } from './limits.js';
import { RELATIONSHIP_KINDS, RUNTIMES, SCHEMA_VERSIONS } from './model.js';

/** PascalCase: contexts, aggregates, entities, value objects, enums, commands, events, queries. */
export const TYPE_NAME_PATTERN = '^[A-Z][A-Za-z0-9]*$';
/** camelCase or snake_case: properties and parameters. */
export const MEMBER_NAME_PATTERN = '^[a-z][A-Za-z0-9_]*$';
export const ENUM_VALUE_PATTERN = '^[A-Za-z][A-Za-z0-9_]*$';
export const NAMESPACE_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$';
/** A scalar or a (possibly `Context.`-qualified) name, optionally wrapped in `List<...>`. */
export const TYPE_EXPRESSION_PATTERN =
  '^(List<\\s*[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)?\\s*>|[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)?)$';

const typeName = { type: 'string', maxLength: B.name, pattern: TYPE_NAME_PATTERN };
const memberName = { type: 'string', maxLength: B.name, pattern: MEMBER_NAME_PATTERN };
const description = { type: 'string', maxLength: B.description };
const shortText = { type: 'string', maxLength: B.name };
const named = (extra: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  required: ['name', ...required],
  properties: { name: typeName, description, ...extra },
});
const list = (ref: string, maxItems: number) => ({ type: 'array', maxItems, items: { $ref: `#/$defs/${ref}` } });

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
        name: { type: 'string', minLength: 1, maxLength: B.name },
        description,
        schema_version: {
          description: 'The IR version this model is written in; absent means 1. In 2, every command says `creates: true` or `changes: <parameter>`.',
          enum: [...SCHEMA_VERSIONS],
        },
        stack: {
          type: 'object',
          additionalProperties: false,
          required: ['runtime'],
          properties: {
            runtime: { enum: [...RUNTIMES] },
            framework: shortText,
            database: shortText,
          },
        },
      },
    },
    boundedContext: named(
      {
        namespace: { type: 'string', maxLength: B.namespace, pattern: NAMESPACE_PATTERN },
        aggregates: list('aggregate', B.contextItems),
        value_objects: list('valueObject', B.contextItems),
        enums: list('enum', B.contextItems),
        commands: list('command', B.contextItems),
        events: list('event', B.contextItems),
        queries: list('query', B.contextItems),
        relationships: list('relationship', B.contextItems),
      },
      ['namespace'],
    ),
    typeExpression: { type: 'string', maxLength: B.typeExpression, pattern: TYPE_EXPRESSION_PATTERN },
    property: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'type'],
      properties: {
        name: memberName,
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
            min_length: { type: 'integer', minimum: 0, maximum: IR_LIMITS.maxMinLength },
            max_length: { type: 'integer', minimum: 0, maximum: B.maxLength },
            pattern: { type: 'string', maxLength: IR_LIMITS.maxPatternLength },
          },
        },
      },
    },
    entity: named({ properties: list('property', B.members) }, ['properties']),
    valueObject: named({ properties: list('property', B.members) }, ['properties']),
    enum: named(
      { values: { type: 'array', minItems: 1, maxItems: B.enumValues, items: { type: 'string', maxLength: B.name, pattern: ENUM_VALUE_PATTERN } } },
      ['values'],
    ),
    aggregate: named(
      {
        root_entity: { $ref: '#/$defs/entity' },
        entities: list('entity', B.entities),
        value_objects: list('valueObject', B.entities),
        enums: list('enum', B.entities),
      },
      ['root_entity'],
    ),
    command: named(
      {
        aggregate: typeName,
        parameters: list('property', B.members),
        emits: { type: 'array', maxItems: B.emits, items: { type: 'string', maxLength: B.typeExpression, pattern: TYPE_EXPRESSION_PATTERN } },
        creates: { description: 'The command makes a new instance of its aggregate.', enum: [true] },
        changes: { ...memberName, description: 'The parameter naming the instance the command changes (of the identifier\'s type).' },
        sets: {
          description: 'Root entity field -> the parameter it is set from; absent: each parameter named like a field sets it.',
          type: 'object',
          maxProperties: B.members,
          propertyNames: memberName,
          additionalProperties: memberName,
        },
        requires: list('requirement', B.members),
      },
      ['aggregate'],
    ),
    requirement: {
      description: 'A precondition on the stored instance a command changes: a root entity field and one condition.',
      type: 'object',
      additionalProperties: false,
      required: ['field'],
      minProperties: 2,
      maxProperties: 2,
      properties: {
        field: memberName,
        is: { enum: ['set', 'unset'] },
        equals: { $ref: '#/$defs/requirementValue' },
        one_of: { type: 'array', minItems: 1, maxItems: B.enumValues, items: { $ref: '#/$defs/requirementValue' } },
      },
    },
    requirementValue: { type: ['string', 'number', 'boolean'], maxLength: B.description },
    event: named({ aggregate: typeName, payload: list('property', B.members) }),
    query: named({ parameters: list('property', B.members), result: { $ref: '#/$defs/typeExpression' } }),
    relationship: {
      type: 'object',
      additionalProperties: false,
      required: ['from', 'to', 'kind'],
      properties: {
        from: typeName,
        to: typeName,
        kind: { enum: [...RELATIONSHIP_KINDS] },
        via: memberName,
        description,
      },
    },
  },
} as const;

// allErrors: a person fixing a file wants every problem at once.
// verbose: errors carry the value and the schema they concern (for messages and did-you-mean).
// strictNumbers: `.inf` and `.nan` are YAML numbers but no bound a generator can use.
// allowUnionTypes: a requirement's value is a string, a number or a flag.
const ajv = new Ajv2020.default({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true, strictNumbers: true });
const validate: ValidateFunction = ajv.compile(irSchema);

/** Schema errors of one parsed file (empty when valid). */
export function schemaErrors(data: unknown): ErrorObject[] {
  return validate(data) ? [] : [...(validate.errors ?? [])];
}
