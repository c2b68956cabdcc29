/**
 * The service shape both built-ins emit, decided once: routes, table names, the aggregate as data an engine runs,
 * and the samples a generated test uses. Pure.
 */
import { kebab, plural, sampleValue, snake, wrongValue, type AggregateView, type Desc, type Field } from './ir-view.js';

export const routeOf = (a: AggregateView): string => `/${kebab(a.context)}/${kebab(plural(a.name))}`;
export const tableName = (a: AggregateView): string => `${snake(a.context)}_${snake(plural(a.name))}`;
export const eventsTable = (context: string): string => `${snake(context)}_events`;

export type ColumnKind = 'text' | 'int' | 'decimal' | 'bool' | 'date' | 'datetime' | 'uuid' | 'json';

export function columnKind(desc: Desc): ColumnKind {
  if (desc.kind === 'enum') return 'text';
  if (desc.kind !== 'scalar') return 'json';
  return desc.type === 'string' ? 'text' : desc.type;
}

/** A required field's value on a freshly created aggregate, before the command's input is applied. */
function zero(field: Field): unknown {
  const d = field.desc;
  switch (d.kind) {
    case 'scalar':
      if (d.type === 'int' || d.type === 'decimal') return Math.max(0, field.validation?.min ?? 0);
      if (d.type === 'bool') return false;
      if (d.type === 'date') return '1970-01-01';
      if (d.type === 'uuid') return '00000000-0000-0000-0000-000000000000';
      return '';
    case 'enum':
      return d.values[0] ?? '';
    case 'list':
      return [];
    case 'object':
      return Object.fromEntries(d.fields.filter((f) => f.required).map((f) => [f.name, zero(f)]));
    case 'any':
      return null;
  }
}

/** The aggregate as data a generated engine runs (shared by the built-ins). */
export function aggregateData(a: AggregateView): Record<string, unknown> {
  const required = a.entity.fields.filter((f) => f.required && f.name !== a.identifier);
  const nowFields = required.filter((f) => f.desc.kind === 'scalar' && f.desc.type === 'datetime').map((f) => f.name);
  const defaults = Object.fromEntries(required.filter((f) => !nowFields.includes(f.name)).map((f) => [f.name, zero(f)]));
  const aggregate = {
    context: a.context,
    name: a.name,
    route: routeOf(a),
    identifier: a.identifier,
    idDesc: a.idDesc,
    entity: a.entity,
    defaults,
    nowFields,
    table: {
      name: tableName(a),
      idProperty: a.identifier,
      columns: a.entity.fields.map((f) => ({ property: f.name, column: snake(f.name), kind: columnKind(f.desc) })),
    },
    eventsTable: eventsTable(a.context),
    commands: Object.fromEntries(a.commands.map((c) => [c.name, { input: c.input, ...(c.idParam ? { idParam: c.idParam } : {}), assigns: c.assigns, emits: c.emits }])),
    queries: Object.fromEntries(a.queries.map((q) => [q.name, { input: q.input, filters: q.filters, many: q.many }])),
  };
  return aggregate;
}

/** The value of an entity property or of its identifier. */
const propertyOf = (sample: Record<string, unknown>, a: AggregateView, property: string): unknown =>
  sample[property === '@id' ? a.identifier : property];

export const queryString = (params: Record<string, unknown>): string => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) search.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  const text = search.toString();
  return text ? `?${text}` : '';
};

/** The samples a generated test uses: the stored entity, a valid input per command, the URL per query. */
export function testSamples(a: AggregateView) {
  const entity = sampleValue(a.entity, undefined, 1) as Record<string, unknown>;
  const commands = a.commands.map((c) => {
    const input = sampleValue(c.input, undefined, 2) as Record<string, unknown>;
    if (c.idParam) input[c.idParam] = entity[a.identifier];
    const bad = c.input.fields.find((f) => f.required);
    const badBody = bad ? JSON.stringify({ ...input, [bad.name]: wrongValue(bad.desc) }) : '{not json';
    return { command: c, url: `${routeOf(a)}/commands/${c.name}`, input, badBody };
  });
  const queries = a.queries.map((q) => {
    const params = sampleValue(q.input, undefined, 1) as Record<string, unknown>;
    for (const f of q.filters) params[f.param] = propertyOf(entity, a, f.property);
    return { query: q, url: `${routeOf(a)}/queries/${q.name}${queryString(params)}` };
  });
  return { entity, commands, queries };
}

