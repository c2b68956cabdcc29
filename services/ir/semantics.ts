/**
 * Checks the schema cannot express: names that are unique, references that resolve (types, aggregates,
 * events, relationship ends), entities that have an identity, sensible validation rules, value objects
 * that do not contain themselves, what each command does (command-effect.ts); and, as warnings, commands and
 * queries a generator can only serve as nonsense.
 */
import { listed, type Diagnostic, type DiagnosticCode, type Severity, type Suggester, type Suggestion } from './diagnostics.js';
import { IR_LIMITS } from './limits.js';
import {
  SCALAR_TYPES,
  schemaVersion,
  type Aggregate,
  type BoundedContext,
  type ContextInFile,
  type Entity,
  type Model,
  type Property,
  type SchemaVersion,
  type ValueObject,
} from './model.js';
import { locate, type ParsedFile } from './parse.js';
import { catastrophicShape } from './regex-safety.js';
import type { Shape } from './command-checks.js';
import { CommandEffectChecks, type CommandChecker } from './command-effect.js';

type TypeKind = 'entity' | 'value_object' | 'enum';

interface Declared {
  file: string;
  pointer: string;
  /** Where the name itself is, when not at `${pointer}/name`. */
  namePointer?: string;
}

const nameAt = (declared: Declared) => declared.namePointer ?? `${declared.pointer}/name`;

interface DeclaredType extends Declared {
  kind: TypeKind;
  context: string;
  name: string;
  /** Properties, for entities and value objects. */
  properties?: Property[];
  /** Values, for enums. */
  values?: string[];
}

interface DeclaredAggregate extends Declared {
  context: string;
  aggregate: Aggregate;
}

/** `List<X>` or `X`, where X may be `Context.Name`; undefined when malformed (the schema reports that). */
export function parseTypeExpression(expression: string): { list: boolean; context?: string; name: string } | undefined {
  const match = /^(?:List<\s*([^<>\s]+)\s*>|([^<>\s]+))$/.exec(expression.trim());
  const inner = match?.[1] ?? match?.[2];
  if (inner === undefined) return undefined;
  const parts = inner.split('.');
  if (parts.length === 1 && parts[0]) return { list: match?.[1] !== undefined, name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { list: match?.[1] !== undefined, context: parts[0], name: parts[1] };
  return undefined;
}

const SCALARS: ReadonlySet<string> = new Set(SCALAR_TYPES);
const NUMERIC: ReadonlySet<string> = new Set(['int', 'decimal']);
const KIND_WORDS: Record<TypeKind, string> = { entity: 'entity', value_object: 'value object', enum: 'enum' };

class Checker implements CommandChecker {
  readonly diagnostics: Diagnostic[] = [];
  readonly contexts = new Map<string, ContextInFile & { pointer: string }>();
  readonly aggregates = new Map<string, DeclaredAggregate>();
  /** Context name -> type name -> declaration. */
  readonly types = new Map<string, Map<string, DeclaredType>>();

  /** Names to look up and to suggest from, built once per model (the suggester indexes each list once). */
  private readonly nameLists = new Map<object, Map<string, { list: string[]; set: Set<string> }>>();

  constructor(
    private readonly model: Model,
    private readonly parsed: ReadonlyMap<string, ParsedFile>,
    private readonly suggester: Suggester,
  ) {
    this.version = schemaVersion(model);
    this.commands = new CommandEffectChecks(this);
  }

  readonly version: SchemaVersion;
  private readonly commands: CommandEffectChecks;

  /** The names of one kind that `owner` (a context, a type table, the checker) holds. */
  names(owner: object, kind: string, make: () => string[]): { list: string[]; set: Set<string> } {
    const byKind = this.nameLists.get(owner) ?? new Map<string, { list: string[]; set: Set<string> }>();
    this.nameLists.set(owner, byKind);
    let names = byKind.get(kind);
    if (!names) {
      const list = make();
      names = { list, set: new Set(list) };
      byKind.set(kind, names);
    }
    return names;
  }

  list(owner: object, kind: string, make: () => string[]): string[] {
    return this.names(owner, kind, make).list;
  }

  report(
    code: DiagnosticCode,
    file: string,
    pointer: string,
    message: string,
    suggestion?: Suggestion,
    severity: Severity = 'error',
  ): void {
    const parsed = this.parsed.get(file);
    const position = parsed ? locate(parsed, pointer) : { line: 1, column: 1 };
    this.diagnostics.push({ code, severity, file, ...position, pointer, message, ...(suggestion ? { suggestion } : {}) });
  }

  where(declared: Declared): string {
    const parsed = this.parsed.get(declared.file);
    const { line, column } = parsed ? locate(parsed, declared.pointer) : { line: 1, column: 1 };
    return `${declared.file}:${line}:${column}`;
  }

  /** Registers `name` in `seen`, reporting a duplicate; returns false for blank or duplicate names. */
  unique<T extends Declared>(seen: Map<string, T>, name: string, entry: T, what: string, scope: string): boolean {
    if (name === '') return false;
    const earlier = seen.get(name);
    if (earlier) {
      this.report(
        'DUPLICATE_NAME',
        entry.file,
        nameAt(entry),
        `${what} \`${name}\` is already defined at ${this.where({ file: earlier.file, pointer: nameAt(earlier) })}; ${what} names are unique ${scope}`,
        { message: `rename one of them or remove the duplicate` },
      );
      return false;
    }
    seen.set(name, entry);
    return true;
  }

  run(): Diagnostic[] {
    this.declare();
    for (const { file, context } of this.model.contexts) this.checkContext(file, context);
    this.checkValueObjectCycles();
    this.commands.noteInferred(this.model);
    return this.diagnostics;
  }

  declare(): void {
    for (const entry of this.model.contexts) {
      const { file, context } = entry;
      const base = '/bounded_context';
      this.unique(this.contexts, context.name, { ...entry, pointer: base }, 'bounded context', 'across the model');
      const types = this.types.get(context.name) ?? new Map<string, DeclaredType>();
      this.types.set(context.name, types);
      const addType = (kind: TypeKind, name: string, pointer: string, properties?: Property[], values?: string[]) =>
        this.unique(
          types,
          name,
          { kind, context: context.name, name, file, pointer, ...(properties ? { properties } : {}), ...(values ? { values } : {}) },
          'type',
          'within a bounded context (entities, value objects and enums share one set of names)',
        );
      context.value_objects.forEach((vo, i) => addType('value_object', vo.name, `${base}/value_objects/${i}`, vo.properties));
      context.enums.forEach((en, i) => addType('enum', en.name, `${base}/enums/${i}`, undefined, en.values));
      context.aggregates.forEach((aggregate, a) => {
        const at = `${base}/aggregates/${a}`;
        this.unique(this.aggregates, aggregate.name, { file, pointer: at, context: context.name, aggregate }, 'aggregate', 'across the model');
        addType('entity', aggregate.root_entity.name, `${at}/root_entity`, aggregate.root_entity.properties);
        aggregate.entities.forEach((entity, i) => addType('entity', entity.name, `${at}/entities/${i}`, entity.properties));
        aggregate.value_objects.forEach((vo, i) => addType('value_object', vo.name, `${at}/value_objects/${i}`, vo.properties));
        aggregate.enums.forEach((en, i) => addType('enum', en.name, `${at}/enums/${i}`, undefined, en.values));
      });
    }
  }

  checkContext(file: string, context: BoundedContext): void {
    const base = '/bounded_context';
    this.checkEnums(file, `${base}/enums`, context.enums);
    context.value_objects.forEach((vo, i) => this.checkStructure(file, context, `${base}/value_objects/${i}`, vo, false));
    context.aggregates.forEach((aggregate, a) => {
      const at = `${base}/aggregates/${a}`;
      this.checkStructure(file, context, `${at}/root_entity`, aggregate.root_entity, true);
      aggregate.entities.forEach((entity, i) => this.checkStructure(file, context, `${at}/entities/${i}`, entity, true));
      aggregate.value_objects.forEach((vo, i) => this.checkStructure(file, context, `${at}/value_objects/${i}`, vo, false));
      this.checkEnums(file, `${at}/enums`, aggregate.enums);
    });

    const messages = new Map<string, Declared>();
    const message = (name: string, pointer: string) =>
      this.unique(messages, name, { file, pointer }, 'command, event or query', 'within a bounded context');
    context.events.forEach((event, i) => {
      const at = `${base}/events/${i}`;
      message(event.name, at);
      if (event.aggregate !== undefined) this.checkAggregateRef(file, context, `${at}/aggregate`, event.aggregate);
      this.checkProperties(file, context, `${at}/payload`, event.payload);
    });
    context.commands.forEach((command, i) => {
      const at = `${base}/commands/${i}`;
      message(command.name, at);
      const target = this.checkAggregateRef(file, context, `${at}/aggregate`, command.aggregate);
      this.checkProperties(file, context, `${at}/parameters`, command.parameters);
      command.emits.forEach((event, e) => this.checkEventRef(file, context, `${at}/emits/${e}`, event));
      if (target) this.commands.check(file, at, command, target);
    });
    context.queries.forEach((query, i) => {
      const at = `${base}/queries/${i}`;
      message(query.name, at);
      this.checkProperties(file, context, `${at}/parameters`, query.parameters);
      const result = query.result === undefined ? undefined : this.checkTypeRef(file, context, `${at}/result`, query.result, true);
      const aggregates = this.list(context, 'aggregates', () => context.aggregates.map((a) => a.name));
      const example = aggregates[0] ?? 'Order';
      if (query.result === undefined)
        this.report(
          'QUERY_NOT_SERVED',
          file,
          `${at}/name`,
          `query \`${query.name}\` has no \`result\`, so no generator can serve it: it is left out of the generated service`,
          { message: `say what it returns: an aggregate of this context (\`result: ${example}\`) or a list of one (\`result: List<${example}>\`)` },
          'warning',
        );
      else if (result?.aggregate === undefined && result !== undefined)
        this.report(
          'QUERY_NOT_SERVED',
          file,
          `${at}/result`,
          `query \`${query.name}\` returns \`${query.result}\`, which is not an aggregate of \`${context.name}\`; the generators serve only queries returning an aggregate or a list of one, so it is left out of the generated service`,
          { message: aggregates.length > 0 ? `return one of ${listed(aggregates)} (or \`List<...>\` of one)` : 'declare an aggregate to return' },
          'warning',
        );
    });
    context.relationships.forEach((relationship, i) => {
      const at = `${base}/relationships/${i}`;
      const from = this.checkAggregateRef(file, undefined, `${at}/from`, relationship.from);
      this.checkAggregateRef(file, undefined, `${at}/to`, relationship.to);
      if (from && relationship.via !== undefined) {
        const names = from.aggregate.root_entity.properties.map((p) => p.name);
        if (!names.includes(relationship.via))
          this.report(
            'UNKNOWN_PROPERTY',
            file,
            `${at}/via`,
            `\`${relationship.via}\` is not a property of \`${from.aggregate.root_entity.name}\`, the root entity of \`${relationship.from}\``,
            this.suggester.didYouMean(relationship.via, names),
          );
      }
    });
  }

  checkEnums(file: string, pointer: string, enums: BoundedContext['enums']): void {
    enums.forEach((en, i) => {
      const seen = new Map<string, Declared>();
      en.values.forEach((value, v) => {
        const at = `${pointer}/${i}/values/${v}`;
        this.unique(seen, value, { file, pointer: at, namePointer: at }, 'enum value', `within enum \`${en.name}\``);
      });
    });
  }

  checkStructure(file: string, context: BoundedContext, pointer: string, structure: Entity | ValueObject, isEntity: boolean): void {
    this.checkProperties(file, context, `${pointer}/properties`, structure.properties);
    if (isEntity && structure.name !== '' && !structure.properties.some((p) => p.identifier === true))
      this.report(
        'MISSING_IDENTIFIER',
        file,
        `${pointer}/name`,
        `entity \`${structure.name}\` has no identifier; an entity is known by its identity`,
        { message: 'mark the property that identifies it with `identifier: true` (e.g. `{ name: id, type: uuid, identifier: true }`)' },
      );
  }

  checkProperties(file: string, context: BoundedContext, pointer: string, properties: Property[]): void {
    const seen = new Map<string, Declared>();
    properties.forEach((property, i) => {
      const at = `${pointer}/${i}`;
      this.unique(seen, property.name, { file, pointer: at }, 'property', 'within their list');
      const resolved = this.checkTypeRef(file, context, `${at}/type`, property.type, false);
      if (property.validation) this.checkValidation(file, `${at}/validation`, property, resolved);
    });
  }

  checkValidation(file: string, pointer: string, property: Property, resolved: ReturnType<Checker['checkTypeRef']>): void {
    const rules = property.validation ?? {};
    const scalar = resolved?.scalar;
    const list = resolved?.list === true;
    const misplaced = (rule: string, fits: string) =>
      this.report(
        'INVALID_VALIDATION_RULE',
        file,
        `${pointer}/${rule}`,
        `\`${rule}\` does not apply to \`${property.type}\`; it applies to ${fits}`,
        { message: `remove \`${rule}\`` },
      );
    if (resolved === undefined) return;
    for (const rule of ['min', 'max'] as const)
      if (rules[rule] !== undefined && (list || scalar === undefined || !NUMERIC.has(scalar))) misplaced(rule, '`int` and `decimal`');
    for (const rule of ['min_length', 'max_length'] as const)
      if (rules[rule] !== undefined && !list && scalar !== 'string') misplaced(rule, '`string` and `List<T>`');
    if (rules.pattern !== undefined) {
      if (list || scalar !== 'string') misplaced('pattern', '`string`');
      else if (rules.pattern.length <= IR_LIMITS.maxPatternLength) this.checkPattern(file, `${pointer}/pattern`, rules.pattern);
    }
    for (const [low, high] of [['min', 'max'], ['min_length', 'max_length']] as const) {
      const [a, b] = [rules[low], rules[high]];
      if (a !== undefined && b !== undefined && a > b)
        this.report('INVALID_VALIDATION_RULE', file, `${pointer}/${low}`, `\`${low}\` (${a}) is greater than \`${high}\` (${b})`);
    }
  }

  checkPattern(file: string, pointer: string, pattern: string): void {
    try {
      new RegExp(pattern, 'u');
    } catch (error) {
      this.report('INVALID_VALIDATION_RULE', file, pointer, `\`pattern\` is not a valid regular expression: ${(error as Error).message}`);
      return;
    }
    const shape = catastrophicShape(pattern);
    if (shape)
      this.report(
        'INVALID_VALIDATION_RULE',
        file,
        pointer,
        `\`pattern\` can take exponential time on some inputs: ${shape}`,
        { message: 'rewrite it without a repetition inside a repeated group, e.g. `^\\w+$` rather than `^(\\w+)*$`, or end each round with a character the inner part cannot match, as in `^([a-z]+-)*[a-z]+$`' },
      );
  }

  /** Resolves a type expression; reports an unknown name. `allowAggregate`: a query may return an aggregate. */
  checkTypeRef(
    file: string,
    context: BoundedContext,
    pointer: string,
    expression: string,
    allowAggregate: boolean,
  ): { list: boolean; scalar?: string; type?: DeclaredType; aggregate?: DeclaredAggregate } | undefined {
    const parsed = parseTypeExpression(expression);
    if (!parsed) return undefined;
    const { list, name } = parsed;
    if (parsed.context === undefined && SCALARS.has(name)) return { list, scalar: name };
    const contextName = parsed.context ?? context.name;
    const types = this.types.get(contextName);
    const wrap = (replacement: string) => (list ? `List<${replacement}>` : replacement);
    const qualify = (replacement: string) => (parsed.context === undefined ? replacement : `${parsed.context}.${replacement}`);
    if (!types) {
      this.report(
        'UNKNOWN_TYPE',
        file,
        pointer,
        `\`${expression}\` refers to bounded context \`${contextName}\`, which does not exist`,
        this.rewrap(this.suggester.didYouMean(contextName, this.list(this, 'contexts', () => [...this.contexts.keys()])), (c) => wrap(`${c}.${name}`)),
      );
      return undefined;
    }
    const type = types.get(name);
    if (type) return { list, type };
    const aggregate = this.aggregates.get(name);
    if (aggregate && aggregate.context === contextName) {
      if (allowAggregate) return { list, aggregate };
      const replacement = this.aggregateTypeName(aggregate);
      this.report(
        'UNKNOWN_TYPE',
        file,
        pointer,
        `\`${name}\` is an aggregate, not a type; refer to it by its identifier type or its root entity`,
        { message: `did you mean \`${wrap(qualify(replacement))}\`?`, replacement: wrap(qualify(replacement)) },
      );
      return undefined;
    }
    // The context's aggregates are candidates too (`Membr` is most likely the aggregate `Member`), searched
    // apart so that neither kind hides the other's closer name: where an aggregate fits (a query's result) first.
    const declared = types;
    const typeNames = this.list(declared, parsed.context === undefined ? 'unqualified' : 'qualified', () => [
      ...(parsed.context === undefined ? SCALAR_TYPES : []),
      ...declared.keys(),
    ]);
    const aggregateNames = this.list(declared, 'aggregates', () =>
      (this.contexts.get(contextName)?.context.aggregates ?? []).map((a) => a.name).filter((a) => !declared.has(a)),
    );
    // An aggregate is suggested for a typo of its name, not for a longer name it starts (`OrderLine` is not `Order`).
    const match = allowAggregate
      ? (this.suggester.closest(name, aggregateNames, false) ?? this.suggester.closest(name, typeNames))
      : (this.suggester.closest(name, typeNames) ?? this.suggester.closest(name, aggregateNames, false));
    const where = parsed.context === undefined ? '' : ` in bounded context \`${contextName}\``;
    const matchedAggregate = match === undefined || declared.has(match) ? undefined : this.aggregates.get(match);
    let suggestion: Suggestion | undefined;
    if (matchedAggregate && !allowAggregate) {
      // An aggregate is referred to by its identifier type or its root entity, as above.
      const replacement = wrap(qualify(this.aggregateTypeName(matchedAggregate)));
      suggestion = { message: `did you mean the aggregate \`${match}\`? Refer to it as \`${replacement}\``, replacement };
    } else if (match !== undefined) {
      const replacement = wrap(qualify(match));
      suggestion = { message: `did you mean \`${replacement}\`?`, replacement };
    }
    this.report(
      'UNKNOWN_TYPE',
      file,
      pointer,
      `unknown type \`${name}\`${where}: it is not a scalar (${SCALAR_TYPES.join(', ')}) nor an entity, value object or enum${allowAggregate ? ' nor an aggregate' : ''} of \`${contextName}\``,
      suggestion ?? { message: `define \`${name}\` (as a value object, entity or enum) or use an existing type` },
    );
    return undefined;
  }

  /** How a property refers to an aggregate: its identifier's type when that is a named type, else its root entity. */
  aggregateTypeName(aggregate: DeclaredAggregate): string {
    const root = aggregate.aggregate.root_entity;
    const id = root.properties.find((p) => p.identifier === true);
    return id && !SCALARS.has(id.type) ? id.type : root.name;
  }

  didYouMean(name: string, candidates: readonly string[]): Suggestion | undefined {
    return this.suggester.didYouMean(name, candidates);
  }

  sameType(a: string, b: string, context: string): boolean {
    const key = (expression: string) => {
      const parsed = parseTypeExpression(expression);
      if (!parsed) return expression.replace(/\s+/g, '');
      const owner = parsed.context === undefined && SCALARS.has(parsed.name) ? '' : (parsed.context ?? context);
      return `${parsed.list ? 'List:' : ''}${owner}.${parsed.name}`;
    };
    return key(a) === key(b);
  }

  /** A type expression as the starting-value rule sees it, from `context`. */
  readonly shapeOf = (type: string, context: string): Shape => {
    const parsed = parseTypeExpression(type);
    if (!parsed) return { kind: 'unknown' };
    if (parsed.list) return { kind: 'list' };
    if (parsed.context === undefined && SCALARS.has(parsed.name)) return { kind: 'scalar', type: parsed.name };
    const owner = parsed.context ?? context;
    const declared = this.types.get(owner)?.get(parsed.name);
    if (!declared) return { kind: 'unknown' };
    if (declared.kind === 'enum') return { kind: 'enum', values: declared.values ?? [] };
    return { kind: 'object', properties: declared.properties ?? [], context: owner };
  };

  rewrap(suggestion: Suggestion | undefined, make: (name: string) => string): Suggestion | undefined {
    if (!suggestion?.replacement) return suggestion;
    const replacement = make(suggestion.replacement);
    return { message: `did you mean \`${replacement}\`?`, replacement };
  }

  /** With `context`, the aggregate must belong to it (commands act on their own context's aggregates). */
  checkAggregateRef(file: string, context: BoundedContext | undefined, pointer: string, name: string): DeclaredAggregate | undefined {
    if (name === '') return undefined;
    const found = this.aggregates.get(name);
    if (found && (context === undefined || found.context === context.name)) return found;
    if (found && context)
      this.report(
        'UNKNOWN_AGGREGATE',
        file,
        pointer,
        `aggregate \`${name}\` belongs to bounded context \`${found.context}\`, not \`${context.name}\`; a command or event concerns an aggregate of its own context`,
        { message: `move this to bounded context \`${found.context}\`` },
      );
    else {
      const own = context ? this.list(context, 'aggregates', () => context.aggregates.map((a) => a.name)) : undefined;
      const all = this.list(this, 'aggregates', () => [...this.aggregates.keys()]);
      const candidates = own ?? all;
      // Nothing close in its own context: an aggregate of another is still the likely meaning (and the next
      // diagnostic then says where it belongs).
      const suggestion = this.suggester.didYouMean(name, candidates) ?? (own ? this.suggester.didYouMean(name, all) : undefined);
      this.report(
        'UNKNOWN_AGGREGATE',
        file,
        pointer,
        `unknown aggregate \`${name}\`${context ? ` in bounded context \`${context.name}\`` : ''}`,
        suggestion ?? {
          message: candidates.length > 0 ? `the aggregates are ${listed(candidates)}` : 'define the aggregate first',
        },
      );
    }
    return undefined;
  }

  checkEventRef(file: string, context: BoundedContext, pointer: string, expression: string): void {
    const [qualifier, name] = expression.includes('.') ? expression.split('.', 2) : [undefined, expression];
    if (!name) return;
    const target = qualifier === undefined ? context : this.contexts.get(qualifier)?.context;
    const events = target ? this.names(target, 'events', () => target.events.map((e) => e.name)) : { list: [], set: new Set() };
    if (events.set.has(name)) return;
    const suggestion = this.suggester.didYouMean(name, events.list);
    const replacement = suggestion?.replacement && (qualifier ? `${qualifier}.${suggestion.replacement}` : suggestion.replacement);
    this.report(
      'UNKNOWN_EVENT',
      file,
      pointer,
      target
        ? `unknown event \`${name}\`: bounded context \`${target.name}\` has no such event`
        : `unknown event \`${expression}\`: there is no bounded context \`${qualifier}\``,
      replacement
        ? { message: `did you mean \`${replacement}\`?`, replacement }
        : { message: `declare it under \`events:\`, e.g. \`- { name: ${name} }\`` },
    );
  }

  /** One diagnostic per strongly connected group of value objects, at the property that starts the cycle. */
  checkValueObjectCycles(): void {
    const key = (type: DeclaredType) => `${type.context}.${type.name}`;
    const nodes = new Map<string, DeclaredType>();
    for (const types of this.types.values())
      for (const type of types.values()) if (type.kind === 'value_object') nodes.set(key(type), type);
    const edges = new Map<string, Array<{ to: string; pointer: string }>>();
    for (const [id, type] of nodes) {
      const out: Array<{ to: string; pointer: string }> = [];
      type.properties?.forEach((property, i) => {
        const parsed = parseTypeExpression(property.type);
        if (!parsed || (parsed.context === undefined && SCALARS.has(parsed.name))) return;
        const target = this.types.get(parsed.context ?? type.context)?.get(parsed.name);
        if (target?.kind === 'value_object') out.push({ to: key(target), pointer: `${type.pointer}/properties/${i}/type` });
      });
      edges.set(id, out);
    }
    for (const component of stronglyConnected([...nodes.keys()], (id) => (edges.get(id) ?? []).map((e) => e.to))) {
      const start = [...component].sort()[0]!;
      const selfLoop = (edges.get(start) ?? []).find((e) => e.to === start);
      if (component.size === 1 && !selfLoop) continue;
      const path = cyclePath(start, component, (id) => (edges.get(id) ?? []).map((e) => e.to));
      const first = nodes.get(start)!;
      const edge = (edges.get(start) ?? []).find((e) => e.to === path[1])!;
      this.report(
        'VALUE_OBJECT_CYCLE',
        first.file,
        edge.pointer,
        `value objects contain each other in a cycle: ${cycleText(path.map((id) => `\`${nodes.get(id)!.name}\``))}; a value object cannot contain itself`,
        { message: 'break the cycle: make one of them an entity and refer to it by its identifier, or drop one of the properties' },
      );
    }
  }
}

/** `A -> B -> A`; a long cycle shows its first steps and its end. */
function cycleText(names: string[]): string {
  const shown = names.length > 12 ? [...names.slice(0, 10), `... ${names.length - 11} more`, names.at(-1)!] : names;
  return shown.join(' -> ');
}

/** Tarjan's algorithm, without recursion: a chain of thousands of value objects must not overflow the stack. */
function stronglyConnected(nodes: string[], next: (node: string) => string[]): Array<Set<string>> {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const result: Array<Set<string>> = [];
  const enter = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    return { node, edges: next(node), at: 0 };
  };
  for (const root of nodes) {
    if (index.has(root)) continue;
    const calls = [enter(root)];
    while (calls.length > 0) {
      const frame = calls.at(-1)!;
      if (frame.at < frame.edges.length) {
        const to = frame.edges[frame.at++]!;
        if (!index.has(to)) calls.push(enter(to));
        else if (onStack.has(to)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        continue;
      }
      calls.pop();
      const parent = calls.at(-1);
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = new Set<string>();
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.add(member);
        } while (member !== frame.node);
        result.push(component);
      }
    }
  }
  return result;
}

/** A shortest cycle from `start` back to itself inside its component, as [start, ..., start]. */
function cyclePath(start: string, component: Set<string>, next: (node: string) => string[]): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const to of next(node)) {
      if (!component.has(to)) continue;
      if (to === start) {
        const back: string[] = [];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at)) back.push(at);
        return [start, ...back.reverse(), start];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

export function checkSemantics(model: Model, parsed: ReadonlyMap<string, ParsedFile>, suggester: Suggester): Diagnostic[] {
  return new Checker(model, parsed, suggester).run();
}
