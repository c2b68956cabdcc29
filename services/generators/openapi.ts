/**
 * The OpenAPI 3.1 document of a generated service as HTTP-CONTRACT.md describes it (pages, versions as ETags,
 * If-Match, the error codes), and the JSON Schemas of IR types it is made of. Pure; shared by the generators.
 */
import type { AggregateView, ContextView, Desc, Field } from './ir-view.js';
import { camel, json, pascal } from './ir-view.js';
import { routeOf } from './service-shape.js';

/** The JSON Schema of an IR type (without a field's rules: see fieldSchema). */
export function typeSchema(desc: Desc): Record<string, unknown> {
  switch (desc.kind) {
    case 'scalar': {
      const formats: Record<string, Record<string, unknown>> = {
        string: { type: 'string' },
        int: { type: 'integer' },
        decimal: { type: 'number' },
        bool: { type: 'boolean' },
        date: { type: 'string', format: 'date' },
        datetime: { type: 'string', format: 'date-time' },
        uuid: { type: 'string', format: 'uuid' },
      };
      return { ...formats[desc.type] };
    }
    case 'enum':
      return { type: 'string', enum: desc.values };
    case 'list':
      return { type: 'array', items: typeSchema(desc.of) };
    case 'object':
      return objectSchema(desc.fields);
    case 'any':
      return {};
  }
}

/** A field's JSON Schema: its type's, with the IR's validation rules. */
export function fieldSchema(f: Field): Record<string, unknown> {
  const s = typeSchema(f.desc);
  const r = f.validation;
  if (!r) return s;
  const isArray = s.type === 'array';
  if (r.min !== undefined) s.minimum = r.min;
  if (r.max !== undefined) s.maximum = r.max;
  if (r.min_length !== undefined) s[isArray ? 'minItems' : 'minLength'] = r.min_length;
  if (r.max_length !== undefined) s[isArray ? 'maxItems' : 'maxLength'] = r.max_length;
  if (r.pattern !== undefined) s.pattern = r.pattern;
  return s;
}

export function objectSchema(fields: Field[]): Record<string, unknown> {
  const required = fields.filter((f) => f.required).map((f) => f.name);
  return {
    type: 'object',
    properties: Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f)])),
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: unknown) => ({ 'application/json': { schema } });
const errorResponse = (description: string) => ({ description, content: jsonContent(ref('Error')) });
const etag = { ETag: { description: 'The version, quoted ("3"); send it back as If-Match', schema: { type: 'string' } } };
const pageParameters = [
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'offset', in: 'query', required: false, schema: { type: 'integer', minimum: 0, default: 0 } },
];
const pageOf = (a: AggregateView) => ({
  type: 'object',
  properties: { items: { type: 'array', items: ref(a.name) }, limit: { type: 'integer' }, offset: { type: 'integer' }, total: { type: 'integer' } },
  required: ['items', 'limit', 'offset', 'total'],
});

function aggregatePaths(a: AggregateView): Record<string, unknown> {
  const tags = [a.context];
  const oneField = a.idDesc.kind === 'object' && a.idDesc.fields.length === 1 ? a.idDesc.fields[0]! : undefined;
  const paths: Record<string, unknown> = {
    [routeOf(a)]: {
      get: {
        operationId: `${camel(a.context)}List${pascal(a.name)}`,
        tags,
        parameters: pageParameters,
        responses: { '200': { description: `A page of ${a.name} instances, by identifier`, content: jsonContent(pageOf(a)) }, '400': errorResponse('Invalid paging parameters') },
      },
    },
    [`${routeOf(a)}/{${a.identifier}}`]: {
      get: {
        operationId: `${camel(a.context)}Get${pascal(a.name)}`,
        tags,
        parameters: [{ name: a.identifier, in: 'path', required: true, schema: fieldSchema(oneField ?? { name: a.identifier, required: true, desc: a.idDesc }) }],
        responses: {
          '200': { description: `The ${a.name}`, headers: etag, content: jsonContent(ref(a.name)) },
          '400': errorResponse('Invalid identifier'),
          '404': errorResponse(`No such ${a.name} (NOT_FOUND)`),
        },
      },
    },
  };
  for (const c of a.commands) {
    const change = c.kind === 'change';
    const result = {
      type: 'object',
      properties: { entity: ref(a.name), version: { type: 'integer', minimum: 1 }, events: { type: 'array', items: ref('DomainEvent') } },
      required: ['entity', 'version', 'events'],
    };
    paths[`${routeOf(a)}/commands/${c.name}`] = {
      post: {
        operationId: `${camel(a.context)}${pascal(c.name)}`,
        tags,
        ...(change ? { parameters: [{ name: 'If-Match', in: 'header', required: false, description: 'The version the change expects (an ETag)', schema: { type: 'string' } }] } : {}),
        requestBody: { required: true, content: jsonContent(objectSchema(c.input.fields)) },
        responses: {
          [change ? '200' : '201']: {
            description: `The ${a.name} after ${c.name}, its version and the events it emitted`,
            headers: change ? etag : { ...etag, Location: { description: `The new ${a.name}'s URL`, schema: { type: 'string' } } },
            content: jsonContent(result),
          },
          '400': errorResponse('Malformed JSON (MALFORMED_JSON) or invalid input (VALIDATION_FAILED)'),
          ...(change
            ? {
                '404': errorResponse(`No such ${a.name} (NOT_FOUND)`),
                '409': errorResponse('If-Match names another version (VERSION_CONFLICT) or a precondition does not hold (PRECONDITION_FAILED)'),
              }
            : {}),
          '413': errorResponse('A body over 1 MiB (PAYLOAD_TOO_LARGE)'),
        },
      },
    };
  }
  for (const q of a.queries) {
    const own = q.input.fields.map((f) => {
      const simple = f.desc.kind === 'scalar' || f.desc.kind === 'enum';
      return { name: f.name, in: 'query', required: f.required, ...(simple ? { schema: fieldSchema(f) } : { content: jsonContent(fieldSchema(f)) }) };
    });
    paths[`${routeOf(a)}/queries/${q.name}`] = {
      get: {
        operationId: `${camel(a.context)}${pascal(q.name)}`,
        tags,
        parameters: q.many ? [...own, ...pageParameters.filter((p) => !own.some((o) => o.name === p.name))] : own,
        responses: {
          '200': { description: `The matching ${a.name}${q.many ? ' instances, a page' : ''}`, content: jsonContent(q.many ? pageOf(a) : ref(a.name)) },
          '400': errorResponse('Invalid parameters'),
          ...(q.many ? {} : { '404': errorResponse(`No ${a.name} matches (NOT_FOUND)`) }),
        },
      },
    };
  }
  return paths;
}

/** openapi.json of a service that follows HTTP-CONTRACT.md. */
export function contractOpenapi(title: string, contexts: ContextView[]): string {
  const aggs = contexts.flatMap((c) => c.aggregates);
  const paths: Record<string, unknown> = {
    '/health': {
      get: {
        operationId: 'health',
        responses: {
          '200': {
            description: 'The service is up, and where it stores',
            content: jsonContent({ type: 'object', properties: { status: { const: 'ok' }, storage: { enum: ['postgres', 'memory'] } }, required: ['status', 'storage'] }),
          },
        },
      },
    },
    ...Object.assign({}, ...aggs.map(aggregatePaths)),
  };
  const schemas: Record<string, unknown> = Object.fromEntries(aggs.map((a) => [a.name, objectSchema(a.entity.fields)]));
  schemas.DomainEvent = { type: 'object', properties: { type: { type: 'string' }, payload: { type: 'object' } }, required: ['type', 'payload'] };
  schemas.Error = {
    type: 'object',
    properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} }, required: ['code', 'message'] } },
    required: ['error'],
  };
  return json({ openapi: '3.1.0', info: { title, version: '0.1.0' }, paths, components: { schemas } });
}
