/**
 * The checks of what a command does (command-checks.ts has the rules): `creates` or `changes` (required from schema
 * version 2), `sets` and `requires` against the aggregate's root entity, and the warnings about a command a generator
 * can only serve as nonsense. The semantic checker (semantics.ts) runs them for each command it can resolve.
 */
import { CHANGE_VERBS, fieldsSet, firstWord, hasStartingValue, instanceParameter, misfit, type Shape } from './command-checks.js';
import { listed, type DiagnosticCode, type Severity, type Suggestion } from './diagnostics.js';
import type { Aggregate, Command, Model, Property, SchemaVersion } from './model.js';
import { escapePointerToken } from './parse.js';

/** What these checks need of the semantic checker. */
export interface CommandChecker {
  readonly version: SchemaVersion;
  report(code: DiagnosticCode, file: string, pointer: string, message: string, suggestion?: Suggestion, severity?: Severity): void;
  /** The names of one kind that `owner` holds, listed once per model. */
  list(owner: object, kind: string, make: () => string[]): string[];
  didYouMean(name: string, candidates: readonly string[]): Suggestion | undefined;
  shapeOf(type: string, context: string): Shape;
  /** Whether two type expressions, seen from `context`, name the same type. */
  sameType(a: string, b: string, context: string): boolean;
}

export class CommandEffectChecks {
  constructor(private readonly checker: CommandChecker) {}

  /** A version 1 model whose commands leave what they do to inference hears, once, how to say it. */
  noteInferred(model: Model): void {
    const { projectFile } = model;
    if (this.checker.version !== 1 || projectFile === undefined) return;
    const inferred = model.contexts.flatMap(({ context }) => context.commands.filter((c) => c.creates !== true && c.changes === undefined));
    if (inferred.length === 0) return;
    const example = inferred[0]!;
    this.checker.report(
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

  /**
   * What a command does: `creates: true` or `changes: <parameter>` (either is required from schema version 2,
   * inferred before), the fields `sets` maps and the `requires` of a change, each checked against the aggregate's
   * root entity; then the warnings for what a generator can only serve as nonsense: a create that leaves a required
   * field without a meaningful starting value, a command named like a change (`ReturnBook`) that names no instance.
   */
  check(file: string, at: string, command: Command, target: { context: string; aggregate: Aggregate }): void {
    const root = target.aggregate.root_entity;
    const identifier = root.properties.find((p) => p.identifier === true);
    if (!identifier) return; // MISSING_IDENTIFIER says so
    const aggregate = target.aggregate.name;
    const suggestedId = `${aggregate.charAt(0).toLowerCase()}${aggregate.slice(1)}Id`;
    const idParameter = `\`{ name: ${suggestedId}, type: ${identifier.type} }\``;
    const params = this.checker.list(command, 'parameters', () => command.parameters.map((p) => p.name));
    const fields = this.checker.list(root, 'fields', () => root.properties.map((p) => p.name));
    const declared = command.creates === true || command.changes !== undefined;

    if (command.creates === true && command.changes !== undefined)
      this.checker.report(
        'COMMAND_EFFECT_CONFLICT',
        file,
        `${at}/creates`,
        `\`${command.name}\` says both \`creates: true\` and \`changes: ${command.changes}\`; a command either makes a new \`${aggregate}\` or changes an existing one`,
        { message: `keep \`changes: ${command.changes}\` if it changes the \`${aggregate}\` that parameter names, else keep \`creates: true\`` },
      );
    if (command.changes !== undefined) this.checkChangesParameter(file, at, command, params, identifier, aggregate, target.context);

    const instance = instanceParameter(command, aggregate, identifier);
    const creates = command.changes === undefined && instance === undefined;
    if (!declared && this.checker.version >= 2) {
      const verb = CHANGE_VERBS.has(firstWord(command.name));
      this.checker.report(
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
      this.checker.report(
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
    const ofIdType = command.parameters.filter((p) => this.checker.sameType(p.type, identifier.type, context)).map((p) => p.name);
    if (!param) {
      this.checker.report(
        'UNKNOWN_PARAMETER',
        file,
        `${at}/changes`,
        `\`changes\` names \`${name}\`, which is not a parameter of \`${command.name}\``,
        this.checker.didYouMean(name, params) ?? {
          message: ofIdType.length > 0
            ? `name the parameter that identifies the \`${aggregate}\`: ${listed(ofIdType)}`
            : `add the parameter: \`{ name: ${name}, type: ${identifier.type} }\``,
        },
      );
    } else if (!this.checker.sameType(param.type, identifier.type, context))
      this.checker.report(
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
        this.checker.report(
          'UNKNOWN_PROPERTY',
          file,
          pointer,
          `\`sets\` names \`${field}\`, which is not a field of the root entity of \`${command.aggregate}\``,
          this.checker.didYouMean(field, fields) ?? { message: `the fields are ${listed(fields)}` },
        );
      else if (target === identifier)
        this.checker.report(
          'COMMAND_EFFECT_CONFLICT',
          file,
          pointer,
          `\`sets\` names \`${field}\`, the identifier of \`${command.aggregate}\`: an identity is given when an instance is made and never changes`,
          { message: `remove \`${field}\` from \`sets\`` },
        );
      if (!param)
        this.checker.report(
          'UNKNOWN_PARAMETER',
          file,
          pointer,
          `\`sets\` takes \`${field}\` from \`${paramName}\`, which is not a parameter of \`${command.name}\``,
          this.checker.didYouMean(paramName, params) ?? {
            message: target ? `add the parameter: \`{ name: ${paramName}, type: ${target.type} }\`` : `the parameters are ${params.length > 0 ? listed(params) : 'none'}`,
          },
        );
      if (target && param && target !== identifier && !this.checker.sameType(param.type, target.type, context))
        this.checker.report(
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
      this.checker.report(
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
          this.checker.report(
            'UNKNOWN_PROPERTY',
            file,
            `${pointer}/field`,
            `\`requires\` names \`${requirement.field}\`, which is not a field of the root entity of \`${aggregate}\``,
            this.checker.didYouMean(requirement.field, fields) ?? { message: `the fields are ${listed(fields)}` },
          );
        return;
      }
      if ('is' in requirement) {
        if (requirement.is === 'unset' && field.required !== false)
          this.checker.report(
            'INVALID_REQUIREMENT',
            file,
            `${pointer}/is`,
            `\`${field.name}\` is required, so it is never unset: \`${command.name}\` would always be refused`,
            { message: `make \`${field.name}\` \`required: false\`, or require something else` },
          );
        return;
      }
      const shape = this.checker.shapeOf(field.type, context);
      if (shape.kind === 'unknown') return; // UNKNOWN_TYPE says so
      if (shape.kind !== 'scalar' && shape.kind !== 'enum') {
        this.checker.report(
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
        const suggestion = shape.kind === 'enum' && typeof value === 'string' ? this.checker.didYouMean(value, shape.values as string[]) : undefined;
        this.checker.report('INVALID_REQUIREMENT', file, valueAt, `\`${field.name}\` can never equal this: ${why}`, suggestion);
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
    const missing = root.filter((p) => p !== identifier && p.required !== false && !given.has(p.name) && !hasStartingValue(p, context, this.checker.shapeOf));
    if (missing.length === 0) return;
    const names = missing.map((p) => p.name);
    const plural = names.length > 1;
    const examples = missing
      .slice(0, 5)
      .map((p) => `\`{ name: ${p.name}, type: ${p.type} }\``)
      .join(', ');
    const change =
      this.checker.version >= 2 || command.creates === true
        ? `, or, if the command changes an existing \`${aggregate}\`, say \`changes: ${suggestedId}\` with a parameter ${idParameter}`
        : `, or, if the command changes an existing \`${aggregate}\`, add ${idParameter}`;
    this.checker.report(
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
}
