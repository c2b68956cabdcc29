/**
 * The OpenAPI 3.1 document of a generated service as HTTP-CONTRACT.md describes it (pages, versions as ETags,
 * If-Match, the error codes), and the JSON Schemas of IR types it is made of. Pure; shared by the generators (the
 * document is typescript-http's, moved here as it was written on its branch, so that every stack serves the same).
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

const jsonContent = (schema: unknown) => ({ 'application/json': { schema } });
const errorResponse = (description: string) => ({ description, content: jsonContent({ $ref: '#/components/schemas/Error' }) });
const ETAG = { ETag: { description: 'The version of the instance, quoted ("3")', schema: { type: 'string' } } };
const PAGING = [
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  { name: 'offset', in: 'query', required: false, schema: { type: 'integer', minimum: 0, default: 0 } },
];
const pageRef = (a: AggregateView) => ({ $ref: `#/components/schemas/${a.name}Page` });

function pageSchema(a: AggregateView): Record<string, unknown> {
  return {
    type: 'object',
    properties: { items: { type: 'array', items: { $ref: `#/components/schemas/${a.name}` } }, limit: { type: 'integer' }, offset: { type: 'integer' }, total: { type: 'integer' } },
    required: ['items', 'limit', 'offset', 'total'],
  };
}

/** The OpenAPI 3.1 document of every route of HTTP-CONTRACT.md, its schemas (rules included) from the IR. */
export function openapi(title: string, contexts: ContextView[]): string {
  const aggs = contexts.flatMap((c) => c.aggregates);
  const paths: Record<string, unknown> = {
    '/health': {
      get: {
        operationId: 'health',
        responses: { '200': { description: 'Up, and where it stores', content: jsonContent({ type: 'object', properties: { status: { const: 'ok' }, storage: { enum: ['postgres', 'memory'] } }, required: ['status', 'storage'] }) } },
      },
    },
    '/openapi.json': { get: { operationId: 'openapi', responses: { '200': { description: 'This document', content: jsonContent({ type: 'object' }) } } } },
  };
  for (const a of aggs) {
    const ref = { $ref: `#/components/schemas/${a.name}` };
    const idSchema = fieldSchema({ name: a.identifier, required: true, desc: a.idDesc });
    const oneField = a.idDesc.kind === 'object' && a.idDesc.fields.length === 1 ? a.idDesc.fields[0]! : undefined;
    paths[routeOf(a)] = {
      get: {
        operationId: `${camel(a.context)}List${pascal(a.name)}`,
        tags: [a.context],
        parameters: PAGING,
        responses: {
          '200': { description: `A page of ${a.name} instances, by identifier`, content: jsonContent(pageRef(a)) },
          '400': errorResponse('Invalid paging parameters'),
        },
      },
    };
    paths[`${routeOf(a)}/{${a.identifier}}`] = {
      get: {
        operationId: `${camel(a.context)}Get${pascal(a.name)}`,
        tags: [a.context],
        parameters: [{ name: a.identifier, in: 'path', required: true, schema: oneField ? fieldSchema(oneField) : idSchema }],
        responses: {
          '200': { description: `The ${a.name}`, headers: ETAG, content: jsonContent(ref) },
          '400': errorResponse('Invalid identifier'),
          '404': errorResponse(`No such ${a.name}`),
        },
      },
    };
    for (const c of a.commands) {
      const change = c.kind === 'change';
      const result = { $ref: `#/components/schemas/${a.name}CommandResult` };
      paths[`${routeOf(a)}/commands/${c.name}`] = {
        post: {
          operationId: `${camel(a.context)}${pascal(c.name)}`,
          tags: [a.context],
          ...(change ? { parameters: [{ name: 'If-Match', in: 'header', required: false, description: 'The version the change expects ("3")', schema: { type: 'string' } }] } : {}),
          requestBody: { required: true, content: jsonContent(objectSchema(c.input.fields)) },
          responses: {
            ...(change
              ? { '200': { description: `The ${a.name} after ${c.name}, its version and the events it emitted`, headers: ETAG, content: jsonContent(result) } }
              : {
                  '201': {
                    description: `The new ${a.name}, version 1, and the events it emitted`,
                    headers: { ...ETAG, Location: { description: 'Where to read it', schema: { type: 'string' } } },
                    content: jsonContent(result),
                  },
                }),
            '400': errorResponse('Invalid input'),
            ...(change
              ? { '404': errorResponse(`No such ${a.name}`), '409': errorResponse('VERSION_CONFLICT (If-Match names another version) or PRECONDITION_FAILED') }
              : {}),
            '413': errorResponse('Body over 1 MiB'),
          },
        },
      };
    }
    for (const q of a.queries) {
      paths[`${routeOf(a)}/queries/${q.name}`] = {
        get: {
          operationId: `${camel(a.context)}${pascal(q.name)}`,
          tags: [a.context],
          parameters: [
            ...q.input.fields.map((f) => {
              const s = fieldSchema(f);
              const simple = f.desc.kind === 'scalar' || f.desc.kind === 'enum';
              return { name: f.name, in: 'query', required: f.required, ...(simple ? { schema: s } : { content: jsonContent(s) }) };
            }),
            ...(q.many ? PAGING : []),
          ],
          responses: {
            '200': { description: `The matching ${a.name}${q.many ? ' instances, a page' : ''}`, content: jsonContent(q.many ? pageRef(a) : ref) },
            '400': errorResponse('Invalid parameters'),
            ...(q.many ? {} : { '404': errorResponse(`No ${a.name} matches`) }),
          },
        },
      };
    }
  }
  const schemas: Record<string, unknown> = {};
  for (const a of aggs) {
    schemas[a.name] = objectSchema(a.entity.fields);
    schemas[`${a.name}Page`] = pageSchema(a);
    schemas[`${a.name}CommandResult`] = {
      type: 'object',
      properties: { entity: { $ref: `#/components/schemas/${a.name}` }, version: { type: 'integer', minimum: 1 }, events: { type: 'array', items: { $ref: '#/components/schemas/DomainEvent' } } },
      required: ['entity', 'version', 'events'],
    };
  }
  schemas.DomainEvent = { type: 'object', properties: { type: { type: 'string' }, payload: { type: 'object' } }, required: ['type', 'payload'] };
  schemas.Error = {
    type: 'object',
    properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} }, required: ['code', 'message'] } },
    required: ['error'],
  };
  return json({ openapi: '3.1.0', info: { title, version: '0.1.0' }, paths, components: { schemas } });
}
