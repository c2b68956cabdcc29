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

export interface Project {
  name: string;
  description?: string;
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

export interface Command {
  name: string;
  description?: string;
  aggregate: string;
  parameters: Property[];
  emits: string[];
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
