/** Turning IR pieces into Python source: literals, safe names, and pydantic models with the IR's rules. */
import { pascal, type Desc, type Field } from '../ir-view.js';

const INDENT = '    ';

function inline(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'None';
  // A JSON string literal is a valid Python one (the same escapes).
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')}}`;
}

/** A JSON-like value as a Python literal: on one line when it fits in 110 columns, else one item per line. */
export function py(value: unknown, indent = 0): string {
  const flat = inline(value);
  if (flat.length + indent <= 110 || typeof value !== 'object' || value === null) return flat;
  const pad = ' '.repeat(indent + INDENT.length);
  const end = ' '.repeat(indent);
  if (Array.isArray(value)) {
    return value.length === 0 ? '[]' : `[\n${value.map((v) => `${pad}${py(v, indent + INDENT.length)},`).join('\n')}\n${end}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.length === 0 ? '{}' : `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${py(v, indent + INDENT.length)},`).join('\n')}\n${end}}`;
}

const KEYWORDS = 'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type';
/** Names a pydantic model's field must not take (BaseModel's own attributes). */
const MODEL_ATTRIBUTES = 'construct copy dict fields from_orm json parse_file parse_obj parse_raw schema schema_json update_forward_refs validate';
const RESERVED = new Set(`${KEYWORDS} ${MODEL_ATTRIBUTES}`.split(' '));

/** A Python identifier for an IR name; the IR name stays the JSON name (an alias) when they differ. */
export function pyName(name: string): string {
  let out = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (/^[0-9]/.test(out)) out = `_${out}`;
  return RESERVED.has(out) || out.startsWith('model_') || out.startsWith('_') ? `${out.replace(/^_+/, '')}_` : out;
}

/** A JavaScript pattern as Python's `re` reads it (named groups and their back-references are spelled differently). */
export const pyPattern = (pattern: string): string => pattern.replace(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?P<$1>').replace(/\\k<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?P=$1)');

/** A pattern Python's `re` cannot read (a Unicode property) and Rust's regex can (no back-reference or lookaround). */
export const needsRustRegex = (pattern: string): boolean =>
  /\\[pP]\{/.test(pattern) && !/\\k<|\\[1-9]|\(\?<?[=!]/.test(pattern);

const SCALARS: Record<string, string> = { string: 'Text', int: 'Int', decimal: 'float', bool: 'bool', date: 'Date', datetime: 'UtcDatetime', uuid: 'Uuid' };

/** The pydantic classes of one module, each emitted once (nested ones first) under a name unique in the module. */
export class ModelClasses {
  readonly sources: string[] = [];
  readonly #shapes = new Map<string, string>();

  /** The class for an object shape; its name is `name` in PascalCase, numbered when another shape took it. */
  model(name: string, fields: Field[], doc?: string): string {
    const key = JSON.stringify(fields);
    const base = pascal(name).replace(/[^A-Za-z0-9_]/g, '') || 'Shape';
    let className = base;
    for (let n = 2; this.#shapes.has(className) && this.#shapes.get(className) !== key; n++) className = `${base}${n}`;
    if (this.#shapes.has(className)) return className;
    this.#shapes.set(className, key);
    const lines = fields.map((f) => this.#field(f));
    // Python's re has no \p{...}: a class whose patterns use it checks them with pydantic's Rust engine, which has
    // (and lacks only back-references and lookarounds, which such a pattern then must not use).
    if (fields.some((f) => f.validation?.pattern !== undefined && needsRustRegex(f.validation.pattern))) {
      lines.unshift(`${INDENT}model_config = ConfigDict(regex_engine="rust-regex")`, '');
    }
    const body = [...(doc ? [`${INDENT}"""${doc}"""`, ''] : []), ...(lines.length ? lines : [`${INDENT}pass`])];
    this.sources.push(`class ${className}(Model):\n${body.join('\n')}\n`);
    return className;
  }

  /** The type a field of `desc` has, with the field's rules as constraints. */
  type(desc: Desc, rules?: Field['validation']): string {
    return withRules(this.#bare(desc), desc, rules);
  }

  #bare(desc: Desc): string {
    switch (desc.kind) {
      case 'scalar':
        return SCALARS[desc.type] ?? 'Any';
      case 'enum':
        return desc.values.length ? `Literal[${desc.values.map((v) => JSON.stringify(v)).join(', ')}]` : 'str';
      case 'list':
        return `list[${this.#bare(desc.of)}]`;
      case 'object':
        return this.model(desc.name, desc.fields);
      case 'any':
        return 'Any';
    }
  }

  #field(f: Field): string {
    const name = pyName(f.name);
    const type = this.type(f.desc, f.validation);
    const alias = name === f.name ? '' : `alias=${JSON.stringify(f.name)}`;
    if (f.required) return `${INDENT}${name}: ${type}${alias ? ` = Field(${alias})` : ''}`;
    return `${INDENT}${name}: Optional[${type}] = ${alias ? `Field(None, ${alias})` : 'None'}`;
  }
}

function withRules(type: string, desc: Desc, rules: Field['validation']): string {
  if (!rules) return type;
  const args: string[] = [];
  const numeric = desc.kind === 'scalar' && (desc.type === 'int' || desc.type === 'decimal');
  const text = desc.kind === 'scalar' && desc.type === 'string';
  if (numeric && rules.min !== undefined) args.push(`ge=${rules.min}`);
  if (numeric && rules.max !== undefined) args.push(`le=${rules.max}`);
  if ((text || desc.kind === 'list') && rules.min_length !== undefined) args.push(`min_length=${rules.min_length}`);
  if ((text || desc.kind === 'list') && rules.max_length !== undefined) args.push(`max_length=${rules.max_length}`);
  if (text && rules.pattern !== undefined) args.push(`pattern=${JSON.stringify(pyPattern(rules.pattern))}`);
  return args.length ? `Annotated[${type}, Field(${args.join(', ')})]` : type;
}
