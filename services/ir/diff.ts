/**
 * A structural diff of two models: what was added, removed or changed, element by element, matched by name.
 * Each change points into a file: the new model's for added and changed elements, the old one's for removed.
 */
import type { Aggregate, BoundedContext, Command, Entity, Enum, Event, Model, Property, Query, Relationship } from './model.js';

export type DiffElement =
  | 'project'
  | 'context'
  | 'aggregate'
  | 'entity'
  | 'value_object'
  | 'enum'
  | 'enum_value'
  | 'property'
  | 'command'
  | 'event'
  | 'query'
  | 'relationship';

export interface DiffEntry {
  change: 'added' | 'removed' | 'changed';
  element: DiffElement;
  /** Readable location by names, e.g. `Order/Order/OrderEntity/status`. */
  path: string;
  file: string;
  /** JSON pointer into `file`; for a changed field, the field itself. */
  pointer: string;
  /** For `changed`: which field (`type`, `required`, `emits`, ...). */
  field?: string;
  before?: unknown;
  after?: unknown;
}

export interface ModelDiff {
  changes: DiffEntry[];
}

/** Where an element sits in each model. */
interface Site {
  file: string;
  pointer: string;
}

class Differ {
  readonly changes: DiffEntry[] = [];

  added(element: DiffElement, path: string, at: Site): void {
    this.changes.push({ change: 'added', element, path, ...at });
  }

  removed(element: DiffElement, path: string, at: Site): void {
    this.changes.push({ change: 'removed', element, path, ...at });
  }

  /** Compares the named fields; unset and absent are the same. */
  fields<T extends object>(element: DiffElement, path: string, a: T, b: T, at: Site, names: ReadonlyArray<keyof T & string>): void {
    for (const field of names) {
      const [before, after] = [a[field], b[field]];
      if (JSON.stringify(before) === JSON.stringify(after)) continue;
      this.changes.push({
        change: 'changed',
        element,
        path,
        file: at.file,
        pointer: `${at.pointer}/${field}`,
        field,
        ...(before !== undefined ? { before } : {}),
        ...(after !== undefined ? { after } : {}),
      });
    }
  }

  /** Matches list entries by key; reports added and removed ones and hands matched pairs to `both`. */
  list<T>(
    element: DiffElement,
    path: string,
    a: { items: T[]; at: Site },
    b: { items: T[]; at: Site },
    key: (item: T) => string,
    both?: (x: T, y: T, path: string, atA: Site, atB: Site) => void,
  ): void {
    const index = (items: T[]) => new Map(items.map((item, i) => [key(item), i] as const));
    const [before, after] = [index(a.items), index(b.items)];
    const site = (at: Site, i: number): Site => ({ file: at.file, pointer: `${at.pointer}/${i}` });
    for (const [name, i] of before) if (!after.has(name)) this.removed(element, `${path}/${name}`, site(a.at, i));
    for (const [name, j] of after) {
      const i = before.get(name);
      if (i === undefined) this.added(element, `${path}/${name}`, site(b.at, j));
      else both?.(a.items[i]!, b.items[j]!, `${path}/${name}`, site(a.at, i), site(b.at, j));
    }
  }

  properties(path: string, a: Property[], b: Property[], atA: Site, atB: Site): void {
    this.list('property', path, { items: a, at: atA }, { items: b, at: atB }, (p) => p.name, (x, y, p, _, at) =>
      this.fields('property', p, x, y, at, ['type', 'identifier', 'required', 'validation', 'description']),
    );
  }

  structures(element: 'entity' | 'value_object', path: string, a: Entity[], b: Entity[], atA: Site, atB: Site): void {
    this.list(element, path, { items: a, at: atA }, { items: b, at: atB }, (s) => s.name, (x, y, p, sa, sb) => {
      this.fields(element, p, x, y, sb, ['description']);
      this.properties(p, x.properties, y.properties, child(sa, 'properties'), child(sb, 'properties'));
    });
  }

  enums(path: string, a: Enum[], b: Enum[], atA: Site, atB: Site): void {
    this.list('enum', path, { items: a, at: atA }, { items: b, at: atB }, (e) => e.name, (x, y, p, sa, sb) => {
      this.fields('enum', p, x, y, sb, ['description']);
      this.list('enum_value', p, { items: x.values, at: child(sa, 'values') }, { items: y.values, at: child(sb, 'values') }, (v) => v);
    });
  }

  aggregate(path: string, a: Aggregate, b: Aggregate, atA: Site, atB: Site): void {
    this.fields('aggregate', path, a, b, atB, ['description']);
    const rootA = child(atA, 'root_entity');
    const rootB = child(atB, 'root_entity');
    const rootPath = `${path}/${b.root_entity.name}`;
    this.fields('entity', rootPath, a.root_entity, b.root_entity, rootB, ['name', 'description']);
    this.properties(rootPath, a.root_entity.properties, b.root_entity.properties, child(rootA, 'properties'), child(rootB, 'properties'));
    this.structures('entity', path, a.entities, b.entities, child(atA, 'entities'), child(atB, 'entities'));
    this.structures('value_object', path, a.value_objects, b.value_objects, child(atA, 'value_objects'), child(atB, 'value_objects'));
    this.enums(path, a.enums, b.enums, child(atA, 'enums'), child(atB, 'enums'));
  }

  context(path: string, a: BoundedContext, b: BoundedContext, atA: Site, atB: Site): void {
    this.fields('context', path, a, b, atB, ['namespace', 'description']);
    const pair = <T>(key: keyof BoundedContext & string, pick: (c: BoundedContext) => T[]) =>
      [
        { items: pick(a), at: child(atA, key) },
        { items: pick(b), at: child(atB, key) },
      ] as const;
    this.list('aggregate', path, ...pair('aggregates', (c) => c.aggregates), (x) => x.name, (x, y, p, sa, sb) =>
      this.aggregate(p, x, y, sa, sb),
    );
    this.structures('value_object', path, a.value_objects, b.value_objects, child(atA, 'value_objects'), child(atB, 'value_objects'));
    this.enums(path, a.enums, b.enums, child(atA, 'enums'), child(atB, 'enums'));
    this.list<Command>('command', path, ...pair('commands', (c) => c.commands), (x) => x.name, (x, y, p, sa, sb) => {
      this.fields('command', p, x, y, sb, ['aggregate', 'emits', 'creates', 'changes', 'sets', 'requires', 'description']);
      this.properties(p, x.parameters, y.parameters, child(sa, 'parameters'), child(sb, 'parameters'));
    });
    this.list<Event>('event', path, ...pair('events', (c) => c.events), (x) => x.name, (x, y, p, sa, sb) => {
      this.fields('event', p, x, y, sb, ['aggregate', 'description']);
      this.properties(p, x.payload, y.payload, child(sa, 'payload'), child(sb, 'payload'));
    });
    this.list<Query>('query', path, ...pair('queries', (c) => c.queries), (x) => x.name, (x, y, p, sa, sb) => {
      this.fields('query', p, x, y, sb, ['result', 'description']);
      this.properties(p, x.parameters, y.parameters, child(sa, 'parameters'), child(sb, 'parameters'));
    });
    this.list<Relationship>('relationship', path, ...pair('relationships', (c) => c.relationships), (r) => `${r.from}->${r.to}`, (x, y, p, _, sb) =>
      this.fields('relationship', p, x, y, sb, ['kind', 'via', 'description']),
    );
  }
}

function child(at: Site, key: string): Site {
  return { file: at.file, pointer: `${at.pointer}/${key}` };
}

export function diffModels(before: Model, after: Model): ModelDiff {
  const differ = new Differ();
  if (before.project && after.project && after.projectFile) {
    const at = { file: after.projectFile, pointer: '/project' };
    differ.fields('project', 'project', before.project, after.project, at, ['name', 'description', 'schema_version']);
    differ.fields('project', 'project/stack', before.project.stack, after.project.stack, child(at, 'stack'), ['runtime', 'framework', 'database']);
  }
  const contexts = (model: Model) => new Map(model.contexts.map((entry) => [entry.context.name, entry] as const));
  const [a, b] = [contexts(before), contexts(after)];
  const site = (file: string): Site => ({ file, pointer: '/bounded_context' });
  for (const [name, entry] of a) if (!b.has(name)) differ.removed('context', name, site(entry.file));
  for (const [name, entry] of b) {
    const old = a.get(name);
    if (!old) differ.added('context', name, site(entry.file));
    else differ.context(name, old.context, entry.context, site(old.file), site(entry.file));
  }
  return { changes: differ.changes };
}
