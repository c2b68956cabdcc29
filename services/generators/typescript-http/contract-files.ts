/** The service's contract: openapi.json and the typed client (ESM JavaScript + .d.ts); the SQL migrations are in ../sql-migrations.ts. */
import type { AggregateView, ContextView, Desc } from '../ir-view.js';
import { camel } from '../ir-view.js';
import { routeOf } from '../service-shape.js';
import { HEADER } from './runtime.js';

// ---- OpenAPI: the contract's document, shared with the other stacks ----

export { openapi } from '../openapi.js';

// ---- typed client ----

function tsType(desc: Desc): string {
  switch (desc.kind) {
    case 'scalar':
      return desc.type === 'int' || desc.type === 'decimal' ? 'number' : desc.type === 'bool' ? 'boolean' : 'string';
    case 'enum':
      return desc.values.map((v) => JSON.stringify(v)).join(' | ') || 'never';
    case 'list': {
      const inner = tsType(desc.of);
      return /[|{ ]/.test(inner) && !inner.startsWith('{') ? `Array<${inner}>` : `${inner}[]`;
    }
    case 'object':
      return `{ ${desc.fields.map((f) => `${JSON.stringify(f.name)}${f.required ? '' : '?'}: ${tsType(f.desc)};`).join(' ')} }`;
    case 'any':
      return 'unknown';
  }
}

export function clientJs(contexts: ContextView[]): string {
  const groups = contexts
    .filter((c) => c.aggregates.length > 0)
    .map((c) => {
      const methods = c.aggregates.flatMap((a) => [
        `      ${camel(a.name)}ById: (id) => call('GET', ${JSON.stringify(`${routeOf(a)}/`)} + idSegment(id)),`,
        `      ${camel(a.name)}Page: (page) => call('GET', ${JSON.stringify(routeOf(a))}, undefined, page),`,
        ...a.commands.map((cmd) => `      ${camel(cmd.name)}: (input) => call('POST', ${JSON.stringify(`${routeOf(a)}/commands/${cmd.name}`)}, input),`),
        ...a.queries.map((q) => `      ${camel(q.name)}: (params) => call('GET', ${JSON.stringify(`${routeOf(a)}/queries/${q.name}`)}, undefined, params),`),
      ]);
      return `    ${camel(c.name)}: {\n${methods.join('\n')}\n    },`;
    });
  return `${HEADER}
// Plain ESM JavaScript with types in index.d.ts: the service and its client run on Node 20 without a build step
// or a single installed package (node --test runs the tests as they are).

/** A failed call: the status and the service's error body. */
export class ApiError extends Error {
  /** @param {number} status @param {any} body */
  constructor(status, body) {
    super(body?.error?.message ?? \`HTTP \${status}\`);
    this.status = status;
    this.body = body;
  }
}

/** An identifier in a path: a scalar as is, a one-field value object by that field, else JSON. @param {unknown} id */
function idSegment(id) {
  if (id !== null && typeof id === 'object' && !Array.isArray(id)) {
    const values = Object.values(id);
    return encodeURIComponent(values.length === 1 && typeof values[0] !== 'object' ? String(values[0]) : JSON.stringify(id));
  }
  return encodeURIComponent(String(id));
}

/** @param {string} baseUrl @param {{ fetch?: typeof fetch }} [options] */
export function createClient(baseUrl, options = {}) {
  const doFetch = options.fetch ?? globalThis.fetch;
  /** @param {string} method @param {string} path @param {unknown} [body] @param {Record<string, unknown>} [params] */
  async function call(method, path, body, params) {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined) search.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    const query = search.toString();
    const res = await doFetch(\`\${baseUrl.replace(/\\/$/, '')}\${path}\${query ? \`?\${query}\` : ''}\`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json();
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }
  return {
${groups.join('\n')}
  };
}
`;
}

export function clientDts(contexts: ContextView[]): string {
  const aggs: AggregateView[] = contexts.flatMap((c) => c.aggregates);
  const types = aggs.flatMap((a) => [
    `/** The ${a.name} aggregate (${a.context}). */\nexport type ${a.name} = ${tsType(a.entity)};`,
    ...a.commands.map((c) => `export type ${c.name}Input = ${tsType(c.input)};`),
    ...a.queries.map((q) => `export type ${q.name}Params = ${tsType(q.input)};`),
  ]);
  const groups = contexts
    .filter((c) => c.aggregates.length > 0)
    .map((c) => {
      const methods = c.aggregates.flatMap((a) => [
        `    ${camel(a.name)}ById(id: ${tsType(a.idDesc)}): Promise<${a.name}>;`,
        `    ${camel(a.name)}Page(page?: { limit?: number; offset?: number }): Promise<${a.name}[]>;`,
        ...a.commands.map((cmd) => `    ${camel(cmd.name)}(input: ${cmd.name}Input): Promise<CommandResult<${a.name}>>;`),
        ...a.queries.map((q) => `    ${camel(q.name)}(params: ${q.name}Params): Promise<${a.name}${q.many ? '[]' : ''}>;`),
      ]);
      return `  ${camel(c.name)}: {\n${methods.join('\n')}\n  };`;
    });
  return `${HEADER}
export interface DomainEvent {
  type: string;
  aggregate: string;
  id: unknown;
  payload: Record<string, unknown>;
}

export interface CommandResult<T> {
  entity: T;
  events: DomainEvent[];
}

export declare class ApiError extends Error {
  readonly status: number;
  readonly body: { error: { code: string; message: string; details?: unknown } };
}

${types.join('\n\n')}

export interface Client {
${groups.join('\n')}
}

export declare function createClient(baseUrl: string, options?: { fetch?: typeof fetch }): Client;
`;
}
