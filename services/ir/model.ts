/**
 * The IR's TypeScript types. Field names are the YAML's own (snake_case) so a JSON pointer into a file and a
 * path into the model read the same; lists the YAML may omit are always present (empty) here.
 */

export const SCALAR_TYPES = ['string', 'int', 'decimal', 'bool', 'date', 'datetime', 'uuid'] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

/** Runtimes a generated app can target; mirrors the sandbox stacks (sandbox-images/names.ts). */
export const RUNTIMES = ['node', 'python', 'go'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export const RELATIONSHIP_KINDS = ['one_to_one', 'one_to_many', 'many_to_one', 'many_to_many'] as const;
export type RelationshipKind = (typeof RELATIONSHIP_KINDS)[number];

export interface Stack {
  runtime: Runtime;
  framework?: string;
  database?: string;
}

/** The IR's versions: 1 infers what a command does from its parameters; 2 has every command declare it. */
export const SCHEMA_VERSIONS = [1, 2] as const;
export type SchemaVersion = (typeof SCHEMA_VERSIONS)[number];
export const LATEST_SCHEMA_VERSION: SchemaVersion = 2;

export interface Project {
  name: string;
  description?: string;
  /** Absent means 1. */
  schema_version?: SchemaVersion;
  stack: Stack;
}

/** Simple checks a generator turns into input validation. */
export interface ValidationRules {
  min?: number;
  max?: number;
  min_length?: number;
  max_length?: number;
  pattern?: string;
}

/**
 * `type` is a scalar, a type name (value object, entity or enum of the context, or `Context.Name` for another
 * context's), or `List<T>` of either.
 */
export interface Property {
  name: string;
  type: string;
  identifier?: boolean;
  /** Defaults to true. */
  required?: boolean;
  description?: string;
  validation?: ValidationRules;
}

export interface Entity {
  name: string;
  description?: string;
  properties: Property[];
}

export interface ValueObject {
  name: string;
  description?: string;
  properties: Property[];
}

export interface Enum {
  name: string;
  description?: string;
  values: string[];
}

export interface Aggregate {
  name: string;
  description?: string;
  root_entity: Entity;
  entities: Entity[];
  value_objects: ValueObject[];
  enums: Enum[];
}

/** A value a requirement compares a field with: an enum value or string, a number, a flag. */
export type RequirementValue = string | number | boolean;

/** A precondition on the stored instance a command changes; `field` is a property of the root entity. */
export type Requirement =
  | { field: string; is: 'set' | 'unset' }
  | { field: string; equals: RequirementValue }
  | { field: string; one_of: RequirementValue[] };

export interface Command {
  name: string;
  description?: string;
  aggregate: string;
  parameters: Property[];
  emits: string[];
  /** The command makes a new instance of its aggregate. */
  creates?: boolean;
  /** The parameter naming the instance the command changes (of the identifier's type). */
  changes?: string;
  /** Root entity field -> the parameter it is set from; absent: each parameter named like a field sets it. */
  sets?: Record<string, string>;
  /** What must hold of the stored instance before a change applies. */
  requires: Requirement[];
}

export interface Event {
  name: string;
  description?: string;
  aggregate?: string;
  payload: Property[];
}

export interface Query {
  name: string;
  description?: string;
  parameters: Property[];
  /** A type expression, or an aggregate's name (its root entity). */
  result?: string;
}

/** `from` and `to` are aggregate names; aggregate names are unique across the whole model. */
export interface Relationship {
  from: string;
  to: string;
  kind: RelationshipKind;
  /** A property of `from`'s root entity that holds the reference. */
  via?: string;
  description?: string;
}

export interface BoundedContext {
  name: string;
  namespace: string;
  description?: string;
  aggregates: Aggregate[];
  value_objects: ValueObject[];
  enums: Enum[];
  commands: Command[];
  events: Event[];
  queries: Query[];
  relationships: Relationship[];
}

/** One context per file; `file` is where it came from (e.g. `ir/contexts/order.yaml`). */
export interface ContextInFile {
  file: string;
  context: BoundedContext;
}

export interface Model {
  project?: Project;
  /** The file that declared the project. */
  projectFile?: string;
  contexts: ContextInFile[];
}

/** The input: workspace-relative path -> file text. Only `ir/**.yaml|yml` are read. */
export type Files = Readonly<Record<string, string>>;

/** The version a model is written in (1 when its project file does not say). */
export function schemaVersion(model: Pick<Model, 'project'>): SchemaVersion {
  return model.project?.schema_version ?? 1;
}
