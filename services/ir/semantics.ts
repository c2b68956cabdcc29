/**
 * Checks the schema cannot express: names that are unique, references that resolve (types, aggregates,
 * events, relationship ends), entities that have an identity, sensible validation rules, value objects
 * that do not contain themselves; and, as warnings, commands and queries a generator can only serve as nonsense.
 */
import type { Diagnostic, DiagnosticCode, Severity, Suggester, Suggestion } from './diagnostics.js';
import { IR_LIMITS } from './limits.js';
import {
  SCALAR_TYPES,
  schemaVersion,
  type Aggregate,
  type BoundedContext,
  type Command,
  type ContextInFile,
  type Entity,
  type Model,
  type Property,
  type SchemaVersion,
  type ValueObject,
} from './model.js';
import { escapePointerToken, locate, type ParsedFile } from './parse.js';
import { catastrophicShape } from './regex-safety.js';
import { CHANGE_VERBS, fieldsSet, firstWord, hasStartingValue, instanceParameter, misfit, type Shape } from './command-checks.js';

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
/** Names in a message, the first few of a long list. */
function listed(names: readonly string[], shown = 10): string {
  const quoted = names.slice(0, shown).map((name) => `\`${name}\``).join(', ');
  return names.length > shown ? `${quoted} and ${names.length - shown} more` : quoted;
}

const KIND_WORDS: Record<TypeKind, string> = { entity: 'entity', value_object: 'value object', enum: 'enum' };

class Checker {
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
  }

  readonly version: SchemaVersion;

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
    this.suggestDeclaredEffects();
    return this.diagnostics;
  }

  /** A version 1 model whose commands leave what they do to inference hears, once, how to say it. */
  suggestDeclaredEffects(): void {
    const { projectFile } = this.model;
    if (this.version !== 1 || projectFile === undefined) return;
    const inferred = this.model.contexts.flatMap(({ context }) => context.commands.filter((c) => c.creates !== true && c.changes === undefined));
    if (inferred.length === 0) return;
    const example = inferred[0]!;
    this.report(
      'COMMAND_EFFECT_INFERRED',
      projectFile,
      '/project',
      `this model is IR schema version 1, so what ${inferred.length === 1 ? 'a command does is' : `${inferred.length} commands do is`} inferred from ${inferred.length === 1 ? 'its' : 'their'} parameters (\`${example.name}\` among them): a parameter named like the identifier makes a change, otherwise a create, and parameters named like fields set them`,
      {
        message:
          'say it instead: add `schema_version: 2` under `project:`, and to each command `creates: true` or `changes: <the parameter naming the instance>`; ' +
          'optionally `sets: { <field>: <parameter> }` and `requires: [ { field: returnedOn, is: unset } ]`',
      },
      'info',
    );
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
      if (target) this.checkCommandEffect(file, at, command, target);
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

  /** Whether two type expressions, seen from `context`, name the same type. */
  sameType(a: string, b: string, context: string): boolean {
    const key = (expression: string) => {
      const parsed = parseTypeExpression(expression);
      if (!parsed) return expression.replace(/\s+/g, '');
      const owner = parsed.context === undefined && SCALARS.has(parsed.name) ? '' : (parsed.context ?? context);
      return `${parsed.list ? 'List:' : ''}${owner}.${parsed.name}`;
    };
    return key(a) === key(b);
  }

  /**
   * What a command does: `creates: true` or `changes: <parameter>` (either is required from schema version 2,
   * inferred before), the fields `sets` maps and the `requires` of a change, each checked against the aggregate's
   * root entity; then the warnings for what a generator can only serve as nonsense: a create that leaves a required
   * field without a meaningful starting value, a command named like a change (`ReturnBook`) that names no instance.
   */
  checkCommandEffect(file: string, at: string, command: Command, target: DeclaredAggregate): void {
    const root = target.aggregate.root_entity;
    const identifier = root.properties.find((p) => p.identifier === true);
    if (!identifier) return; // MISSING_IDENTIFIER says so
    const aggregate = target.aggregate.name;
    const suggestedId = `${aggregate.charAt(0).toLowerCase()}${aggregate.slice(1)}Id`;
    const idParameter = `\`{ name: ${suggestedId}, type: ${identifier.type} }\``;
    const params = this.list(command, 'parameters', () => command.parameters.map((p) => p.name));
    const fields = this.list(root, 'fields', () => root.properties.map((p) => p.name));
    const declared = command.creates === true || command.changes !== undefined;

    if (command.creates === true && command.changes !== undefined)
      this.report(
        'COMMAND_EFFECT_CONFLICT',
        file,
        `${at}/creates`,
        `\`${command.name}\` says both \`creates: true\` and \`changes: ${command.changes}\`; a command either makes a new \`${aggregate}\` or changes an existing one`,
        { message: `keep \`changes: ${command.changes}\` if it changes the \`${aggregate}\` that parameter names, else keep \`creates: true\`` },
      );
    if (command.changes !== undefined) this.checkChangesParameter(file, at, command, params, identifier, aggregate, target.context);

    const instance = instanceParameter(command, aggregate, identifier);
    const creates = command.changes === undefined && instance === undefined;
    if (!declared && this.version >= 2) {
      const verb = CHANGE_VERBS.has(firstWord(command.name));
      this.report(
        'COMMAND_EFFECT_MISSING',
        file,
        `${at}/name`,
        `\`${command.name}\` does not say what it does: from schema version 2 every command declares \`creates: true\` (it makes a new \`${aggregate}\`) or \`changes: <parameter>\` (it changes the \`${aggregate}\` that parameter names)`,
        {
          message: instance
            ? `it names a \`${aggregate}\` with \`${instance.name}\`: add \`changes: ${instance.name}\``
            : verb
              ? `if it changes a \`${aggregate}\`, add a parameter ${idParameter} and \`changes: ${suggestedId}\`; if it makes one, add \`creates: true\``
              : `add \`creates: true\` if it makes a new \`${aggregate}\`, or \`changes: <parameter>\` naming the \`${aggregate}\` it changes (a parameter such as ${idParameter})`,
        },
      );
    } else if (!declared && creates && CHANGE_VERBS.has(firstWord(command.name)))
      this.report(
        'COMMAND_TARGET_UNCLEAR',
        file,
        `${at}/name`,
        `\`${command.name}\` reads like a change to an existing \`${aggregate}\`, but no parameter names one, so it is generated as creating a new \`${aggregate}\``,
        { message: `if it changes one, add a parameter naming it: ${idParameter}` },
        'warning',
      );

    if (command.sets !== undefined) this.checkSets(file, at, command, root.properties, identifier, params, fields, target.context);
    this.checkRequires(file, at, command, root.properties, fields, creates, aggregate, target.context);
    if (creates) this.checkCreatedFields(file, at, command, root.properties, identifier, aggregate, suggestedId, idParameter, target.context);
  }

  checkChangesParameter(file: string, at: string, command: Command, params: string[], identifier: Property, aggregate: string, context: string): void {
    const name = command.changes!;
    const param = command.parameters.find((p) => p.name === name);
    const ofIdType = command.parameters.filter((p) => this.sameType(p.type, identifier.type, context)).map((p) => p.name);
    if (!param) {
      this.report(
        'UNKNOWN_PARAMETER',
        file,
        `${at}/changes`,
        `\`changes\` names \`${name}\`, which is not a parameter of \`${command.name}\``,
        this.suggester.didYouMean(name, params) ?? {
          message: ofIdType.length > 0
            ? `name the parameter that identifies the \`${aggregate}\`: ${listed(ofIdType)}`
            : `add the parameter: \`{ name: ${name}, type: ${identifier.type} }\``,
        },
      );
    } else if (!this.sameType(param.type, identifier.type, context))
      this.report(
        'TYPE_MISMATCH',
        file,
        `${at}/changes`,
        `\`changes\` names \`${name}\`, of type \`${param.type}\`; it must name the \`${aggregate}\` by its identifier \`${identifier.name}\`, of type \`${identifier.type}\``,
        ofIdType.length > 0
          ? { message: `did you mean \`${ofIdType[0]}\`?`, replacement: ofIdType[0]! }
          : { message: `give \`${name}\` the type \`${identifier.type}\`` },
      );
  }

  checkSets(
    file: string,
    at: string,
    command: Command,
    root: Property[],
    identifier: Property,
    params: string[],
    fields: string[],
    context: string,
  ): void {
    for (const [field, paramName] of Object.entries(command.sets ?? {})) {
      const pointer = `${at}/sets/${escapePointerToken(field)}`;
      const target = root.find((p) => p.name === field);
      const param = command.parameters.find((p) => p.name === paramName);
      if (!target)
        this.report(
          'UNKNOWN_PROPERTY',
          file,
          pointer,
          `\`sets\` names \`${field}\`, which is not a field of the root entity of \`${command.aggregate}\``,
          this.suggester.didYouMean(field, fields) ?? { message: `the fields are ${listed(fields)}` },
        );
      else if (target === identifier)
        this.report(
          'COMMAND_EFFECT_CONFLICT',
          file,
          pointer,
          `\`sets\` names \`${field}\`, the identifier of \`${command.aggregate}\`: an identity is given when an instance is made and never changes`,
          { message: `remove \`${field}\` from \`sets\`` },
        );
      if (!param)
        this.report(
          'UNKNOWN_PARAMETER',
          file,
          pointer,
          `\`sets\` takes \`${field}\` from \`${paramName}\`, which is not a parameter of \`${command.name}\``,
          this.suggester.didYouMean(paramName, params) ?? {
            message: target ? `add the parameter: \`{ name: ${paramName}, type: ${target.type} }\`` : `the parameters are ${params.length > 0 ? listed(params) : 'none'}`,
          },
        );
      if (target && param && target !== identifier && !this.sameType(param.type, target.type, context))
        this.report(
          'TYPE_MISMATCH',
          file,
          pointer,
          `\`sets\` takes \`${field}\` (of type \`${target.type}\`) from \`${paramName}\`, of type \`${param.type}\`; a field is set only from a parameter of its own type`,
          { message: `give \`${paramName}\` the type \`${target.type}\`, or set another field from it` },
        );
    }
  }

  checkRequires(file: string, at: string, command: Command, root: Property[], fields: string[], creates: boolean, aggregate: string, context: string): void {
    if (command.requires.length === 0) return;
    if (creates) {
      this.report(
        'INVALID_REQUIREMENT',
        file,
        `${at}/requires`,
        `\`${command.name}\` creates a \`${aggregate}\`, so there is no stored one for \`requires\` to check`,
        { message: `remove \`requires\`, or, if it changes an existing \`${aggregate}\`, say \`changes: <parameter>\` naming it` },
      );
      return;
    }
    command.requires.forEach((requirement, i) => {
      const pointer = `${at}/requires/${i}`;
      const field = root.find((p) => p.name === requirement.field);
      if (!field) {
        if (requirement.field !== '')
          this.report(
            'UNKNOWN_PROPERTY',
            file,
            `${pointer}/field`,
            `\`requires\` names \`${requirement.field}\`, which is not a field of the root entity of \`${aggregate}\``,
            this.suggester.didYouMean(requirement.field, fields) ?? { message: `the fields are ${listed(fields)}` },
          );
        return;
      }
      if ('is' in requirement) {
        if (requirement.is === 'unset' && field.required !== false)
          this.report(
            'INVALID_REQUIREMENT',
            file,
            `${pointer}/is`,
            `\`${field.name}\` is required, so it is never unset: \`${command.name}\` would always be refused`,
            { message: `make \`${field.name}\` \`required: false\`, or require something else` },
          );
        return;
      }
      const shape = this.shapeOf(field.type, context);
      if (shape.kind === 'unknown') return; // UNKNOWN_TYPE says so
      if (shape.kind !== 'scalar' && shape.kind !== 'enum') {
        this.report(
          'INVALID_REQUIREMENT',
          file,
          `${pointer}/${'equals' in requirement ? 'equals' : 'one_of'}`,
          `\`${field.name}\` is a \`${field.type}\`; \`equals\` and \`one_of\` compare a field of a scalar or enum type with a value`,
          { message: `require \`{ field: ${field.name}, is: set }\` (or \`unset\`) instead` },
        );
        return;
      }
      const values = 'equals' in requirement ? [{ value: requirement.equals, at: `${pointer}/equals` }] : requirement.one_of.map((value, v) => ({ value, at: `${pointer}/one_of/${v}` }));
      for (const { value, at: valueAt } of values) {
        const why = misfit(value, shape, field.type);
        if (why === undefined) continue;
        const suggestion = shape.kind === 'enum' && typeof value === 'string' ? this.suggester.didYouMean(value, shape.values as string[]) : undefined;
        this.report('INVALID_REQUIREMENT', file, valueAt, `\`${field.name}\` can never equal this: ${why}`, suggestion);
      }
    });
  }

  /** A create must set each required field that has no meaningful starting value (COMMAND_MISSING_FIELDS). */
  checkCreatedFields(
    file: string,
    at: string,
    command: Command,
    root: Property[],
    identifier: Property,
    aggregate: string,
    suggestedId: string,
    idParameter: string,
    context: string,
  ): void {
    const given = new Set(fieldsSet(command, root, undefined).map((s) => s.field));
    const missing = root.filter((p) => p !== identifier && p.required !== false && !given.has(p.name) && !hasStartingValue(p, context, this.shapeOf));
    if (missing.length === 0) return;
    const names = missing.map((p) => p.name);
    const plural = names.length > 1;
    const examples = missing
      .slice(0, 5)
      .map((p) => `\`{ name: ${p.name}, type: ${p.type} }\``)
      .join(', ');
    const change =
      this.version >= 2 || command.creates === true
        ? `, or, if the command changes an existing \`${aggregate}\`, say \`changes: ${suggestedId}\` with a parameter ${idParameter}`
        : `, or, if the command changes an existing \`${aggregate}\`, add ${idParameter}`;
    this.report(
      'COMMAND_MISSING_FIELDS',
      file,
      command.sets !== undefined ? `${at}/sets` : command.parameters.length > 0 ? `${at}/parameters` : `${at}/name`,
      command.sets !== undefined
        ? `\`${command.name}\` creates a \`${aggregate}\` but its \`sets\` leaves out its required ${plural ? 'fields' : 'field'} ${listed(names)}; the generated service refuses it (400) rather than store an empty value`
        : `\`${command.name}\` creates a \`${aggregate}\` but no parameter gives its required ${plural ? 'fields' : 'field'} ${listed(names)}; the generated service refuses it (400) rather than store an empty value`,
      {
        message:
          command.sets !== undefined
            ? `set ${plural ? 'them' : 'it'} from parameters (\`sets: { ${names[0]}: <parameter> }\`), make ${plural ? 'them' : 'it'} \`required: false\`${change}`
            : `add ${plural ? 'parameters' : 'a parameter'} of the same name and type (${examples}), make ${plural ? 'them' : 'it'} \`required: false\`${change}`,
      },
      'warning',
    );
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
