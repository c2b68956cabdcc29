/** The service's contract: openapi.json and the typed client (client/index.ts); the SQL migrations are in ../sql-migrations.ts. */
import type { AggregateView, ContextView } from '../ir-view.js';
import { camel } from '../ir-view.js';
import { routeOf, testSamples } from '../service-shape.js';
import { tsType } from './aggregate-files.js';
import { alias, domainSpec, esm, HEADER } from './runtime.js';

// ---- OpenAPI: the contract's document, shared with the other stacks ----

export { openapi } from '../openapi.js';

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
