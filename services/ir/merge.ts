/**
 * Files -> one model. Each file is parsed and checked against the schema; whatever parsed is then read
 * leniently (missing lists become empty, wrong values become blanks) so that semantic checks still run on a
 * file with a schema error and every list keeps its indices, hence its JSON pointers.
 */
import type { Diagnostic, Suggester } from './diagnostics.js';
import { formatBytes, IR_LIMITS } from './limits.js';
import type {
  Aggregate,
  BoundedContext,
  Command,
  Entity,
  Enum,
  Event,
  Files,
  Model,
  Project,
  Property,
  Query,
  Relationship,
  RelationshipKind,
  Requirement,
  RequirementValue,
  Runtime,
  SchemaVersion,
  ValidationRules,
  ValueObject,
} from './model.js';
import { SCHEMA_VERSIONS } from './model.js';
import { locate, parseFile, type ParsedFile } from './parse.js';
import { checkSchema } from './schema-diagnostics.js';

/** Which workspace files are IR files. */
export function isIrFile(path: string): boolean {
  return /^ir\/.+\.ya?ml$/.test(path);
}

type Raw = Record<string, unknown>;

const record = (value: unknown): Raw =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : {};
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const optionalText = (value: unknown): { description?: string } =>
  typeof value === 'string' ? { description: value } : {};

function readValidation(value: unknown): ValidationRules | undefined {
  if (value === undefined) return undefined;
  const raw = record(value);
  const rules: ValidationRules = {};
  for (const key of ['min', 'max', 'min_length', 'max_length'] as const)
    if (typeof raw[key] === 'number') rules[key] = raw[key];
  if (typeof raw['pattern'] === 'string') rules.pattern = raw['pattern'];
  return rules;
}

function readProperty(value: unknown): Property {
  const raw = record(value);
  const validation = readValidation(raw['validation']);
  return {
    name: text(raw['name']),
    type: text(raw['type']),
    ...(typeof raw['identifier'] === 'boolean' ? { identifier: raw['identifier'] } : {}),
    ...(typeof raw['required'] === 'boolean' ? { required: raw['required'] } : {}),
    ...optionalText(raw['description']),
    ...(validation ? { validation } : {}),
  };
}

function readStructure(value: unknown): Entity & ValueObject {
  const raw = record(value);
  return { name: text(raw['name']), ...optionalText(raw['description']), properties: list(raw['properties']).map(readProperty) };
}

function readEnum(value: unknown): Enum {
  const raw = record(value);
  return { name: text(raw['name']), ...optionalText(raw['description']), values: list(raw['values']).map(text) };
}

function readAggregate(value: unknown): Aggregate {
  const raw = record(value);
  return {
    name: text(raw['name']),
    ...optionalText(raw['description']),
    root_entity: readStructure(raw['root_entity']),
    entities: list(raw['entities']).map(readStructure),
    value_objects: list(raw['value_objects']).map(readStructure),
    enums: list(raw['enums']).map(readEnum),
  };
}

const isRequirementValue = (value: unknown): value is RequirementValue =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** One condition per requirement; an entry the schema refused is kept as an `is: set` on its field, for its index. */
function readRequirement(value: unknown): Requirement {
  const raw = record(value);
  const field = text(raw['field']);
  if (isRequirementValue(raw['equals'])) return { field, equals: raw['equals'] };
  if (Array.isArray(raw['one_of'])) return { field, one_of: raw['one_of'].filter(isRequirementValue) };
  return { field, is: raw['is'] === 'unset' ? 'unset' : 'set' };
}

function readSets(value: unknown): { sets?: Record<string, string> } {
  if (value === undefined) return {};
  const entries = Object.entries(record(value)).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  return { sets: Object.fromEntries(entries) };
}

function readCommand(value: unknown): Command {
  const raw = record(value);
  return {
    name: text(raw['name']),
    ...optionalText(raw['description']),
    aggregate: text(raw['aggregate']),
    parameters: list(raw['parameters']).map(readProperty),
    emits: list(raw['emits']).map(text),
    ...(raw['creates'] === true ? { creates: true } : {}),
    ...(typeof raw['changes'] === 'string' ? { changes: raw['changes'] } : {}),
    ...readSets(raw['sets']),
    requires: list(raw['requires']).map(readRequirement),
  };
}

function readEvent(value: unknown): Event {
  const raw = record(value);
  return {
    name: text(raw['name']),
    ...optionalText(raw['description']),
    ...(typeof raw['aggregate'] === 'string' ? { aggregate: raw['aggregate'] } : {}),
    payload: list(raw['payload']).map(readProperty),
  };
}

function readQuery(value: unknown): Query {
  const raw = record(value);
  return {
    name: text(raw['name']),
    ...optionalText(raw['description']),
    parameters: list(raw['parameters']).map(readProperty),
    ...(typeof raw['result'] === 'string' ? { result: raw['result'] } : {}),
  };
}

function readRelationship(value: unknown): Relationship {
  const raw = record(value);
  return {
    from: text(raw['from']),
    to: text(raw['to']),
    kind: text(raw['kind']) as RelationshipKind,
    ...(typeof raw['via'] === 'string' ? { via: raw['via'] } : {}),
    ...optionalText(raw['description']),
  };
}

function readContext(value: unknown): BoundedContext {
  const raw = record(value);
  return {
    name: text(raw['name']),
    namespace: text(raw['namespace']),
    ...optionalText(raw['description']),
    aggregates: list(raw['aggregates']).map(readAggregate),
    value_objects: list(raw['value_objects']).map(readStructure),
    enums: list(raw['enums']).map(readEnum),
    commands: list(raw['commands']).map(readCommand),
    events: list(raw['events']).map(readEvent),
    queries: list(raw['queries']).map(readQuery),
    relationships: list(raw['relationships']).map(readRelationship),
  };
}

function readProject(value: unknown): Project {
  const raw = record(value);
  const stack = record(raw['stack']);
  return {
    name: text(raw['name']),
    ...optionalText(raw['description']),
    ...(SCHEMA_VERSIONS.includes(raw['schema_version'] as SchemaVersion) ? { schema_version: raw['schema_version'] as SchemaVersion } : {}),
    stack: {
      runtime: text(stack['runtime']) as Runtime,
      ...(typeof stack['framework'] === 'string' ? { framework: stack['framework'] } : {}),
      ...(typeof stack['database'] === 'string' ? { database: stack['database'] } : {}),
    },
  };
}

export interface MergeResult {
  model: Model;
  /** Parsed IR files by path, for locating pointers. */
  parsed: Map<string, ParsedFile>;
  diagnostics: Diagnostic[];
}

/** A file's parse and schema check, kept by whoever reads several versions of one model (a change's before and after). */
export type ParseCache = Map<string, { text: string; parsed: ParsedFile; schema: Diagnostic[] }>;

function limitExceeded(file: string, message: string): Diagnostic {
  return { code: 'LIMIT_EXCEEDED', severity: 'error', file, line: 1, column: 1, pointer: '', message };
}

/**
 * @param unread IR files left unread (too large, too many): path -> why; each gets a diagnostic
 * @param cache parses to reuse and to add to
 */
export function mergeFiles(files: Files, suggester: Suggester, unread: Readonly<Record<string, string>> = {}, cache: ParseCache = new Map()): MergeResult {
  const model: Model = { contexts: [] };
  const parsed = new Map<string, ParsedFile>();
  const diagnostics: Diagnostic[] = [];
  for (const [path, why] of Object.entries(unread)) diagnostics.push(limitExceeded(path, `${why}: it was not read`));
  const paths = Object.keys(files).filter(isIrFile).sort();
  let total = 0;
  for (const [n, path] of paths.entries()) {
    const text = files[path] ?? '';
    const size = Buffer.byteLength(text, 'utf8');
    if (n >= IR_LIMITS.maxFiles || size > IR_LIMITS.maxFileBytes || total + size > IR_LIMITS.maxTotalBytes) {
      const why =
        n >= IR_LIMITS.maxFiles
          ? `the IR may have at most ${IR_LIMITS.maxFiles} files`
          : size > IR_LIMITS.maxFileBytes
            ? `the file is ${formatBytes(size)}; an IR file may be at most ${formatBytes(IR_LIMITS.maxFileBytes)}`
            : `the IR's files may hold at most ${formatBytes(IR_LIMITS.maxTotalBytes)} together`;
      diagnostics.push(limitExceeded(path, `${why}: this file was not read`));
      continue;
    }
    total += size;
    let entry = cache.get(path);
    if (entry?.text !== text) {
      const file = parseFile(path, text);
      entry = { text, parsed: file, schema: file.data === undefined ? [] : checkSchema(file, suggester) };
      cache.set(path, entry);
    }
    const file = entry.parsed;
    parsed.set(path, file);
    // Not push(...list): a list of many thousand diagnostics would overflow the call stack.
    for (const diagnostic of [file.diagnostics, entry.schema].flat()) diagnostics.push(diagnostic);
    if (file.data === undefined) continue;
    const root = record(file.data);
    if (root['project'] !== undefined) {
      if (model.projectFile === undefined) {
        model.project = readProject(root['project']);
        model.projectFile = path;
      } else {
        diagnostics.push({
          code: 'DUPLICATE_PROJECT',
          severity: 'error',
          file: path,
          ...locate(file, '/project', 'key'),
          pointer: '/project',
          message: `the project is already declared in ${model.projectFile}; keep one project file`,
          suggestion: { message: `delete this file or merge it into ${model.projectFile}` },
        });
      }
    }
    if (root['bounded_context'] !== undefined) model.contexts.push({ file: path, context: readContext(root['bounded_context']) });
  }
  if (model.projectFile === undefined)
    diagnostics.push({
      code: 'MISSING_PROJECT',
      severity: 'error',
      file: 'ir/project.yaml',
      line: 1,
      column: 1,
      pointer: '',
      message: 'no IR file declares the project',
      suggestion: { message: 'create ir/project.yaml with `project: { name: ..., stack: { runtime: node } }`' },
    });
  return { model, parsed, diagnostics };
}
