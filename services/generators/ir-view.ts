/**
 * What every built-in generator reads from the IR, resolved once: type descriptors (scalars, enums, objects,
 * lists), which command parameter names the aggregate it changes, query filters, deterministic sample values,
 * and the IR elements each piece came from (for `dependsOn`). Pure; iteration is sorted by name.
 */
import type { Aggregate, BoundedContext, Command, Entity, Model, Property, Query, Requirement, ScalarType, ValidationRules } from '../ir/index.js';
import { fieldsSet, instanceParameter, SCALAR_TYPES } from '../ir/index.js';
import { sampleFromPattern } from './pattern-sample.js';

export type Desc =
  | { kind: 'scalar'; type: ScalarType }
  | { kind: 'enum'; values: string[] }
  | { kind: 'object'; name: string; fields: Field[] }
  | { kind: 'list'; of: Desc }
  | { kind: 'any' };

export interface Field {
  name: string;
  required: boolean;
  desc: Desc;
  validation?: ValidationRules;
}

export interface EventView {
  name: string;
  /** Where each payload field is taken from: the command's input, the aggregate's identifier, or the entity. */
  payload: Array<{ name: string; from: 'input' | 'id' | 'entity' }>;
}

/**
 * What must hold of the stored instance before a changing command applies; when it does not, the command
 * changes nothing and answers 409 PRECONDITION_FAILED (HTTP-CONTRACT.md). `field` is a root entity field.
 */
export type Precondition =
  | { field: string; is: 'set' | 'unset' }
  | { field: string; equals: string | number | boolean }
  | { field: string; oneOf: Array<string | number | boolean> };

export interface CommandView {
  name: string;
  input: Desc & { kind: 'object' };
  /** `create` makes a new instance; `change` loads the one `idParam` names (404 when there is none). */
  kind: 'create' | 'change';
  /** The parameter naming the aggregate instance it changes (the IR's `changes`, else inferred); absent for a create. */
  idParam?: string;
  /** Entity field <- command parameter (the IR's `sets`, else same-named parameters), applied in this order when the parameter has a value. */
  sets: Array<{ field: string; param: string }>;
  /** Checked in order against the stored instance before a change (always empty for a create). */
  preconditions: Precondition[];
  /** All are emitted, in this order, each time the command succeeds (the IR does not say when one applies). */
  emits: EventView[];
}

export interface QueryView {
  name: string;
  input: Desc & { kind: 'object' };
  /** Parameter -> the root property it filters on (`@id` for the identifier); other parameters are accepted and ignored. */
  filters: Array<{ param: string; property: string }>;
  many: boolean;
}

export interface AggregateView {
  context: string;
  name: string;
  /** `Context/Aggregate` */
  key: string;
  entity: Desc & { kind: 'object' };
  identifier: string;
  idDesc: Desc;
  commands: CommandView[];
  queries: QueryView[];
  /** Everything this aggregate's files were made from. */
  dependsOn: string[];
}

export interface ContextView {
  name: string;
  aggregates: AggregateView[];
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const isScalar = (type: string): type is ScalarType => (SCALAR_TYPES as readonly string[]).includes(type);

class Resolver {
  constructor(readonly model: Model) {}

  context(name: string): BoundedContext | undefined {
    return this.model.contexts.find((c) => c.context.name === name)?.context;
  }

  /** Resolves a type expression seen from `ctx` (and `agg`, whose own types come first), recording dependencies. */
  resolve(type: string, ctx: BoundedContext, agg: Aggregate | undefined, deps: Set<string>, depth = 0): Desc {
    if (depth > 8) return { kind: 'any' };
    const list = /^List<(.+)>$/.exec(type.trim());
    if (list) return { kind: 'list', of: this.resolve(list[1]!, ctx, agg, deps, depth + 1) };
    if (isScalar(type)) return { kind: 'scalar', type };
    const dot = type.indexOf('.');
    if (dot > 0) {
      const other = this.context(type.slice(0, dot));
      return other ? this.named(type.slice(dot + 1), other, undefined, deps, depth) : { kind: 'any' };
    }
    return this.named(type, ctx, agg, deps, depth);
  }

  private named(name: string, ctx: BoundedContext, agg: Aggregate | undefined, deps: Set<string>, depth: number): Desc {
    const owners: Array<{ id: string; enums: { name: string; values: string[] }[]; shapes: Entity[] }> = [];
    const ownerOf = (a: Aggregate) => ({ id: `${ctx.name}/${a.name}`, enums: a.enums, shapes: [...a.value_objects, ...a.entities] });
    if (agg) owners.push(ownerOf(agg));
    for (const e of ctx.enums) owners.push({ id: `${ctx.name}/${e.name}`, enums: [e], shapes: [] });
    for (const v of ctx.value_objects) owners.push({ id: `${ctx.name}/${v.name}`, enums: [], shapes: [v] });
    for (const a of [...ctx.aggregates].sort(byName)) if (a !== agg) owners.push(ownerOf(a));
    for (const owner of owners) {
      const en = owner.enums.find((e) => e.name === name);
      if (en) {
        deps.add(owner.id);
        return { kind: 'enum', values: [...en.values] };
      }
      const shape = owner.shapes.find((s) => s.name === name);
      if (shape) {
        deps.add(owner.id);
        const ownerAgg = ctx.aggregates.find((a) => `${ctx.name}/${a.name}` === owner.id) ?? agg;
        return { kind: 'object', name, fields: this.fields(shape.properties, ctx, ownerAgg, deps, depth + 1) };
      }
    }
    return { kind: 'any' };
  }

  fields(props: Property[], ctx: BoundedContext, agg: Aggregate | undefined, deps: Set<string>, depth = 0): Field[] {
    return props.map((p) => {
      const field: Field = { name: p.name, required: p.required !== false, desc: this.resolve(p.type, ctx, agg, deps, depth) };
      if (p.validation && Object.keys(p.validation).length > 0) field.validation = { ...p.validation };
      return field;
    });
  }
}

const sameDesc = (a: Desc, b: Desc): boolean => JSON.stringify(a) === JSON.stringify(b);
const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * A query parameter or an event payload field names the aggregate instance when its type is the identifier's and
 * its name says so: the rule a command without `changes` follows too (services/ir/command-checks.ts `namesInstance`).
 */
function refersToAggregate(param: Field, agg: Aggregate, identifier: string, idDesc: Desc): boolean {
  if (!sameDesc(param.desc, idDesc)) return false;
  if (param.name === identifier || param.name === `${lowerFirst(agg.name)}Id`) return true;
  const prefix = /^(.+)Id$/.exec(param.name)?.[1];
  return prefix !== undefined && agg.name.endsWith(upperFirst(prefix));
}

/**
 * A parameter that sets a root property of the same type (by `sets`, or else by having its name) carries that
 * property's validation rules too (its own win where both say something): the command refuses what the entity may
 * not hold, naming the parameter.
 */
function withEntityRules(param: Field, root: Field[], cmd: Command): Field {
  const field = cmd.sets === undefined ? param.name : Object.keys(cmd.sets).find((f) => cmd.sets![f] === param.name);
  const target = root.find((f) => f.name === field && sameDesc(f.desc, param.desc));
  if (!target?.validation) return param;
  return { ...param, validation: { ...target.validation, ...param.validation } };
}

/** The IR's `one_of` is `oneOf` here. */
function precondition(requirement: Requirement): Precondition {
  if ('is' in requirement) return { field: requirement.field, is: requirement.is };
  if ('equals' in requirement) return { field: requirement.field, equals: requirement.equals };
  return { field: requirement.field, oneOf: [...requirement.one_of] };
}

function resultAggregate(query: Query): { name: string; many: boolean } | undefined {
  if (!query.result) return undefined;
  const list = /^List<(.+)>$/.exec(query.result.trim());
  return list ? { name: list[1]!, many: true } : { name: query.result.trim(), many: false };
}

/** The model as the generators see it: contexts and aggregates sorted by name. */
export function viewModel(model: Model): ContextView[] {
  const resolver = new Resolver(model);
  const contexts = model.contexts.map((c) => c.context).sort(byName);
  return contexts.map((ctx) => ({
    name: ctx.name,
    aggregates: [...ctx.aggregates].sort(byName).map((agg) => viewAggregate(resolver, ctx, agg)),
  }));
}

function viewAggregate(resolver: Resolver, ctx: BoundedContext, agg: Aggregate): AggregateView {
  const key = `${ctx.name}/${agg.name}`;
  const deps = new Set<string>([key]);
  const fields = resolver.fields(agg.root_entity.properties, ctx, agg, deps);
  const idField = fields.find((f) => agg.root_entity.properties.find((p) => p.name === f.name)?.identifier) ?? fields[0];
  const identifier = idField?.name ?? 'id';
  const idDesc: Desc = idField?.desc ?? { kind: 'scalar', type: 'uuid' };
  const entity = { kind: 'object' as const, name: agg.root_entity.name, fields };
  const rootNames = new Set(fields.map((f) => f.name));

  const commands = [...ctx.commands]
    .filter((c) => c.aggregate === agg.name)
    .sort(byName)
    .map((cmd: Command): CommandView => {
      deps.add(`${ctx.name}/${cmd.name}`);
      const input = { kind: 'object' as const, name: `${cmd.name}Input`, fields: resolver.fields(cmd.parameters, ctx, agg, deps).map((f) => withEntityRules(f, fields, cmd)) };
      const rootIdentifier = agg.root_entity.properties.find((p) => p.name === identifier) ?? { name: identifier, type: 'uuid' };
      const idParam = instanceParameter(cmd, agg.name, rootIdentifier)?.name;
      const sets = fieldsSet(cmd, agg.root_entity.properties, idParam);
      const setFrom = new Map(sets.map((s) => [s.field, s.param]));
      const inputNames = new Set(input.fields.map((f) => f.name));
      const emits = cmd.emits.map((name): EventView => {
        deps.add(`${ctx.name}/${name}`);
        const event = ctx.events.find((e) => e.name === name);
        // A payload field named like a root field carries the stored value, unless the command sets that field from
        // a parameter of the same name (then the input, as before `sets`); any other named like a parameter, the input.
        const payload = (event?.payload ?? []).map((p) => {
          const setBy = setFrom.get(p.name);
          const leftAlone = setBy === undefined && rootNames.has(p.name) && p.name !== identifier && p.name !== idParam;
          const from: 'input' | 'id' | 'entity' =
            setBy !== undefined
              ? setBy === p.name && inputNames.has(p.name)
                ? 'input'
                : 'entity'
              : inputNames.has(p.name) && !leftAlone
                ? 'input'
                : refersToAggregate({ name: p.name, required: true, desc: resolver.resolve(p.type, ctx, agg, deps) }, agg, identifier, idDesc)
                  ? 'id'
                  : 'entity';
          return { name: p.name, from };
        });
        return { name, payload };
      });
      return {
        name: cmd.name,
        input,
        kind: idParam ? 'change' : 'create',
        ...(idParam ? { idParam } : {}),
        sets,
        preconditions: idParam ? cmd.requires.map(precondition) : [],
        emits,
      };
    });

  const queries = [...ctx.queries]
    .sort(byName)
    .flatMap((q): QueryView[] => {
      const result = resultAggregate(q);
      if (result?.name !== agg.name) return [];
      deps.add(`${ctx.name}/${q.name}`);
      const input = { kind: 'object' as const, name: `${q.name}Params`, fields: resolver.fields(q.parameters, ctx, agg, deps) };
      const filters = input.fields.flatMap((f) =>
        refersToAggregate(f, agg, identifier, idDesc)
          ? [{ param: f.name, property: '@id' }]
          : rootNames.has(f.name)
            ? [{ param: f.name, property: f.name }]
            : [],
      );
      return [{ name: q.name, input, filters, many: result.many }];
    });

  return { context: ctx.name, name: agg.name, key, entity, identifier, idDesc, commands, queries, dependsOn: [...deps].sort() };
}

// ---- names ----

export const kebab = (s: string): string =>
  s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z])([A-Z][a-z])/g, '$1-$2').replace(/[^A-Za-z0-9]+/g, '-').toLowerCase().replace(/^-|-$/g, '');
export const snake = (s: string): string => kebab(s).replace(/-/g, '_');
export const camel = (s: string): string => kebab(s).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const pascal = (s: string): string => upperFirst(camel(s));
export function plural(word: string): string {
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}

// ---- samples ----

const STRING_CANDIDATES = ['ABC', 'Sample', 'abc', 'A1', 'sample-1', '1', 'a@b.co'];

function sampleString(rules: ValidationRules | undefined): string {
  const fit = (s: string): string => {
    let out = s;
    if (rules?.min_length !== undefined) while (out.length < rules.min_length) out += s;
    if (rules?.max_length !== undefined) out = out.slice(0, rules.max_length);
    return out;
  };
  for (const candidate of STRING_CANDIDATES) {
    const value = fit(candidate);
    if (!rules?.pattern) return value;
    try {
      if (new RegExp(rules.pattern, 'u').test(value)) return value;
    } catch {
      return value;
    }
  }
  // No stock sample fits the pattern (`^[A-Z]{3}-\d{4}$`): one built from the pattern itself, where it can be.
  return (rules?.pattern && sampleFromPattern(rules.pattern, rules.min_length, rules.max_length)) || fit('x');
}

function sampleNumber(rules: ValidationRules | undefined, integer: boolean): number {
  let n = rules?.min ?? 1;
  if (rules?.max !== undefined && n > rules.max) n = rules.max;
  return integer ? Math.ceil(n) : n;
}

/** A deterministic value the generated validation accepts. `serial` varies identifiers between samples. */
export function sampleValue(desc: Desc, rules?: ValidationRules, serial = 1): unknown {
  switch (desc.kind) {
    case 'scalar':
      switch (desc.type) {
        case 'string':
          return sampleString(rules);
        case 'int':
          return sampleNumber(rules, true);
        case 'decimal':
          return sampleNumber(rules, false);
        case 'bool':
          return true;
        case 'date':
          return '2024-01-02';
        case 'datetime':
          return '2024-01-02T03:04:05.000Z';
        case 'uuid':
          return `00000000-0000-4000-8000-${String(serial).padStart(12, '0')}`;
      }
      break;
    case 'enum':
      return desc.values[0] ?? '';
    case 'list':
      return Array.from({ length: Math.max(1, rules?.min_length ?? 1) }, () => sampleValue(desc.of, undefined, serial));
    case 'object':
      return Object.fromEntries(desc.fields.map((f) => [f.name, sampleValue(f.desc, f.validation, serial)]));
    case 'any':
      return null;
  }
  return null;
}

/** A value with the wrong type for `desc`, for "bad payload gets 400" tests. */
export function wrongValue(desc: Desc): unknown {
  return desc.kind === 'scalar' && desc.type === 'bool' ? 'not-a-bool' : true;
}

/** JSON with two-space indent and a final newline: the one serialisation of every generated data file. */
export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
