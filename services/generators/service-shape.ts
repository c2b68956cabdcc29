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

/**
 * A required field's value on a freshly created aggregate when no parameter gives one, or undefined when no
 * value would mean anything (an identifier, a text, a date): then the create is refused with 400 rather than
 * storing a zero id, an empty string or 1970. Numbers, flags, enums (their first value) and lists start empty
 * when their rules allow it. The IR checker warns about such commands by the same rule (services/ir/command-checks.ts).
 */
export function zero(field: Field): unknown {
  const d = field.desc;
  const r = field.validation;
  switch (d.kind) {
    case 'scalar':
      if (d.type === 'int' || d.type === 'decimal') return (r?.min ?? 0) <= 0 && (r?.max ?? 0) >= 0 ? 0 : undefined;
      if (d.type === 'bool') return false;
      return undefined;
    case 'enum':
      return d.values[0];
    case 'list':
      return (r?.min_length ?? 0) === 0 ? [] : undefined;
    case 'object': {
      const entries = d.fields.filter((f) => f.required).map((f) => [f.name, zero(f)] as const);
      return entries.every(([, v]) => v !== undefined) ? Object.fromEntries(entries) : undefined;
    }
    case 'any':
      return undefined;
  }
}

const isNow = (f: Field): boolean => f.desc.kind === 'scalar' && f.desc.type === 'datetime';

/** The required root fields a creating command leaves without a value: non-empty means it is refused (400). */
export function missingOnCreate(a: AggregateView, c: AggregateView['commands'][number]): string[] {
  if (c.idParam) return [];
  const given = new Set(c.sets.map((s) => s.field));
  return a.entity.fields
    .filter((f) => f.required && f.name !== a.identifier && !isNow(f) && !given.has(f.name) && zero(f) === undefined)
    .map((f) => f.name);
}

/** The aggregate as data a generated engine runs (shared by the built-ins). */
export function aggregateData(a: AggregateView): Record<string, unknown> {
  const required = a.entity.fields.filter((f) => f.required && f.name !== a.identifier);
  const nowFields = required.filter(isNow).map((f) => f.name);
  const defaults = Object.fromEntries(
    required.filter((f) => !isNow(f)).flatMap((f) => {
      const value = zero(f);
      return value === undefined ? [] : [[f.name, value]];
    }),
  );
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
    commands: Object.fromEntries(a.commands.map((c) => [c.name, { input: c.input, kind: c.kind, ...(c.idParam ? { idParam: c.idParam } : {}), sets: c.sets, preconditions: c.preconditions, emits: c.emits }])),
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

/** How an identifier appears in a get-by-id URL: a scalar as is, a one-field value object by that field, else JSON. */
export function idSegment(id: unknown): string {
  if (id !== null && typeof id === 'object' && !Array.isArray(id)) {
    const values = Object.values(id);
    return encodeURIComponent(values.length === 1 && typeof values[0] !== 'object' ? String(values[0]) : JSON.stringify(id));
  }
  return encodeURIComponent(String(id));
}

/** The samples a generated test uses: the stored entity, a valid input per command, the URL per query. */
export function testSamples(a: AggregateView) {
  const entity = sampleValue(a.entity, undefined, 1) as Record<string, unknown>;
  const commands = a.commands.map((c) => {
    const input = sampleValue(c.input, undefined, 2) as Record<string, unknown>;
    if (c.idParam) input[c.idParam] = entity[a.identifier];
    const bad = c.input.fields.find((f) => f.required);
    const badBody = bad ? JSON.stringify({ ...input, [bad.name]: wrongValue(bad.desc) }) : '{not json';
    return { command: c, url: `${routeOf(a)}/commands/${c.name}`, input, badBody, missing: missingOnCreate(a, c) };
  });
  const queries = a.queries.map((q) => {
    const params = sampleValue(q.input, undefined, 1) as Record<string, unknown>;
    for (const f of q.filters) params[f.param] = propertyOf(entity, a, f.property);
    return { query: q, url: `${routeOf(a)}/queries/${q.name}${queryString(params)}` };
  });
  return { entity, commands, queries, idSegment: idSegment(entity[a.identifier]) };
}

