/** The service's contract: openapi.json and the typed client (client/index.ts); the SQL migrations are in ../sql-migrations.ts. */
import type { AggregateView, ContextView, Desc, Field } from '../ir-view.js';
import { camel, json, pascal } from '../ir-view.js';
import { routeOf, testSamples } from '../service-shape.js';
import { tsType } from './aggregate-files.js';
import { alias, domainSpec, esm, HEADER } from './runtime.js';

// ---- JSON Schema / OpenAPI ----

function schemaOf(desc: Desc): Record<string, unknown> {
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
      return { type: 'array', items: schemaOf(desc.of) };
    case 'object':
      return objectSchema(desc.fields);
    case 'any':
      return {};
  }
}

function fieldSchema(f: Field): Record<string, unknown> {
  const s = schemaOf(f.desc);
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

function objectSchema(fields: Field[]): Record<string, unknown> {
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

// ---- typed client ----

/** `client/index.ts`: a typed fetch client of every route, its types from the domain modules. */
export function clientTs(contexts: ContextView[]): string {
  const aggs: AggregateView[] = contexts.flatMap((c) => c.aggregates);
  const groups = contexts
    .filter((c) => c.aggregates.length > 0)
    .map((c) => {
      const methods = c.aggregates.flatMap((a) => {
        const t = (name: string): string => `${alias(a)}.${name}`;
        return [
          `      ${camel(a.name)}ById: (id: ${tsType(a.idDesc)}) => call<${t(a.name)}>('GET', ${JSON.stringify(`${routeOf(a)}/`)} + idSegment(id)),`,
          `      ${camel(a.name)}Page: (page: Paging = {}) => call<Page<${t(a.name)}>>('GET', ${JSON.stringify(routeOf(a))}, { params: page }),`,
          ...a.commands.map((cmd) =>
            cmd.kind === 'change'
              ? `      ${camel(cmd.name)}: (input: ${t(`${cmd.name}Input`)}, options: { ifMatch?: number } = {}) => call<CommandResult<${t(a.name)}>>('POST', ${JSON.stringify(`${routeOf(a)}/commands/${cmd.name}`)}, { body: input, ifMatch: options.ifMatch }),`
              : `      ${camel(cmd.name)}: (input: ${t(`${cmd.name}Input`)}) => call<CommandResult<${t(a.name)}>>('POST', ${JSON.stringify(`${routeOf(a)}/commands/${cmd.name}`)}, { body: input }),`,
          ),
          ...a.queries.map((q) =>
            q.many
              ? `      ${camel(q.name)}: (params: ${t(`${q.name}Params`)} & Paging) => call<Page<${t(a.name)}>>('GET', ${JSON.stringify(`${routeOf(a)}/queries/${q.name}`)}, { params }),`
              : `      ${camel(q.name)}: (params: ${t(`${q.name}Params`)}) => call<${t(a.name)}>('GET', ${JSON.stringify(`${routeOf(a)}/queries/${q.name}`)}, { params }),`,
          ),
        ];
      });
      return `    ${camel(c.name)}: {\n${methods.join('\n')}\n    },`;
    });
  return `${HEADER}${aggs.map((a) => esm(`type * as ${alias(a)}`, domainSpec(a, 'client'))).join('\n')}

export interface DomainEvent {
  type: string;
  payload: Record<string, unknown>;
}

export interface CommandResult<T> {
  entity: T;
  version: number;
  events: DomainEvent[];
}

export interface Page<T> {
  items: T[];
  limit: number;
  offset: number;
  total: number;
}

export interface Paging {
  limit?: number;
  offset?: number;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** A call the service refused: its status and error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.error?.message ?? \`HTTP \${status}\`);
  }
}

/** An identifier in a path: a scalar as is, a one-field value object by that field, else JSON. */
function idSegment(id: unknown): string {
  if (id !== null && typeof id === 'object' && !Array.isArray(id)) {
    const values = Object.values(id);
    return encodeURIComponent(values.length === 1 && typeof values[0] !== 'object' ? String(values[0]) : JSON.stringify(id));
  }
  return encodeURIComponent(String(id));
}

export function createClient(baseUrl: string, options: { fetch?: typeof fetch } = {}) {
  const doFetch = options.fetch ?? globalThis.fetch;
  async function call<T>(method: 'GET' | 'POST', path: string, request: { body?: unknown; params?: object; ifMatch?: number | undefined } = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(request.params ?? {})) if (v !== undefined) search.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    const query = search.toString();
    const headers: Record<string, string> = {};
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.ifMatch !== undefined) headers['if-match'] = \`"\${request.ifMatch}"\`;
    const res = await doFetch(\`\${baseUrl.replace(/\\/$/, '')}\${path}\${query ? \`?\${query}\` : ''}\`, {
      method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
    const data: unknown = await res.json();
    if (!res.ok) throw new ApiError(res.status, data as ErrorBody);
    return data as T;
  }
  return {
${groups.join('\n')}
  };
}

export type Client = ReturnType<typeof createClient>;
`;
}

/** `test/client.test.ts`: the typed client against the service listening on a port, per aggregate: a page, one by id, a create. */
export function clientTestTs(contexts: ContextView[]): string {
  const aggs: AggregateView[] = contexts.flatMap((c) => c.aggregates);
  const L = (v: unknown): string => JSON.stringify(v);
  const tests = aggs.map((a) => {
    const samples = testSamples(a);
    const sample = Object.fromEntries(Object.entries(samples.entity).filter(([, v]) => v !== null));
    const group = `client.${camel(a.context)}`;
    const create = samples.commands.find((s) => s.command.kind === 'create' && s.missing.length === 0);
    return `  it('reads${create ? ' and creates' : ''} ${a.name} instances', async (t) => {
    const sample: ${alias(a)}.${a.name} = ${L(sample)};
    const client = createClient(await serve(t, 'memory', [[${alias(a)}.aggregate, sample]]));
    assert.deepEqual(await ${group}.${camel(a.name)}Page({ limit: 10 }), { items: [sample], limit: 10, offset: 0, total: 1 });
    assert.deepEqual(await ${group}.${camel(a.name)}ById(sample[${L(a.identifier)}]), sample);${
      create
        ? `
    const created = await ${group}.${camel(create.command.name)}(${L(create.input)});
    assert.equal(created.version, 1);
    assert.deepEqual(created.events.map((e) => e.type), ${L(create.command.emits.map((e) => e.name))});`
        : ''
    }
    await assert.rejects(${group}.${camel(a.name)}Page({ limit: 0 }), (error: unknown) => error instanceof ApiError && error.status === 400 && error.body.error.code === 'VALIDATION_FAILED');
  });`;
  });
  return `${HEADER}${esm('assert', 'node:assert/strict')}
${esm('{ describe, it }', 'node:test')}
${esm('{ ApiError, createClient }', '../client/index.js')}
${aggs.map((a) => esm(`* as ${alias(a)}`, domainSpec(a, 'test'))).join('\n')}
${esm('{ serve }', './support.js')}

describe('the typed client', () => {
${tests.join('\n\n')}
});
`;
}
