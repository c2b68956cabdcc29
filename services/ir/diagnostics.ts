/** Diagnostics: what is wrong, where (file, line, column, JSON pointer), and how to fix it when that is obvious. */

export const DIAGNOSTIC_CODES = [
  'YAML_SYNTAX',
  'EMPTY_FILE',
  'SCHEMA_TYPE',
  'SCHEMA_UNKNOWN_FIELD',
  'SCHEMA_MISSING_FIELD',
  'SCHEMA_INVALID_VALUE',
  'INVALID_IDENTIFIER',
  'INVALID_TYPE_EXPRESSION',
  'MISSING_PROJECT',
  'DUPLICATE_PROJECT',
  'DUPLICATE_NAME',
  'UNKNOWN_TYPE',
  'UNKNOWN_AGGREGATE',
  'UNKNOWN_EVENT',
  'UNKNOWN_PROPERTY',
  'VALUE_OBJECT_CYCLE',
  'MISSING_IDENTIFIER',
  'INVALID_VALIDATION_RULE',
  'LIMIT_EXCEEDED',
  'UNKNOWN_PARAMETER',
  'TYPE_MISMATCH',
  'INVALID_REQUIREMENT',
  'COMMAND_EFFECT_MISSING',
  'COMMAND_EFFECT_CONFLICT',
  'COMMAND_EFFECT_INFERRED',
  'COMMAND_MISSING_FIELDS',
  'COMMAND_TARGET_UNCLEAR',
  'QUERY_NOT_SERVED',
] as const;
export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

/** `info`: nothing is wrong, but there is a better way to say it (e.g. an older schema version's inferences). */
export type Severity = 'error' | 'warning' | 'info';

export interface Suggestion {
  /** What to do, in a sentence ("did you mean `OrderStatus`?"). */
  message: string;
  /** The text to put at the diagnostic's pointer instead of what is there, when there is one obvious fix. */
  replacement?: string;
}

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  /** Workspace-relative path, e.g. `ir/contexts/order.yaml`. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** JSON pointer into the file's document ('' is the whole document). */
  pointer: string;
  message: string;
  suggestion?: Suggestion;
}

/** Names in a message, the first few of a long list. */
export function listed(names: readonly string[], shown = 10): string {
  const quoted = names.slice(0, shown).map((name) => `\`${name}\``).join(', ');
  return names.length > shown ? `${quoted} and ${names.length - shown} more` : quoted;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Orders diagnostics by file, then position, so output is stable. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(
    (a, b) => compareText(a.file, b.file) || a.line - b.line || a.column - b.column || compareText(a.code, b.code),
  );
}

/** Names longer than this get no suggestion: a typo fix is unlikely and comparing them costs the most. */
const MAX_SUGGESTED_NAME = 64;
/** Work one model's suggestions may take, in compared characters (about 50 ms). */
const DEFAULT_BUDGET = 20_000_000;

/**
 * The Levenshtein distance of `a` and `b` when it is at most `limit`, else `limit + 1`: only the band of
 * width 2 * limit + 1 around the diagonal is computed, and it stops once a whole row exceeds the limit.
 */
export function boundedDistance(a: string, b: string, limit: number): number {
  const over = limit + 1;
  if (Math.abs(a.length - b.length) > limit) return over;
  if (a.length === 0) return b.length;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => (j <= limit ? j : over));
  let current = new Array<number>(b.length + 1).fill(over);
  for (let i = 1; i <= a.length; i++) {
    const from = Math.max(1, i - limit);
    const to = Math.min(b.length, i + limit);
    current[from - 1] = from === 1 && i <= limit ? i : over;
    let rowMin = current[from - 1]!;
    for (let j = from; j <= to; j++) {
      const value = Math.min(previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1), previous[j]! + 1, current[j - 1]! + 1);
      current[j] = Math.min(value, over);
      rowMin = Math.min(rowMin, current[j]!);
    }
    if (to < b.length) current[to + 1] = over;
    if (rowMin >= over) return over;
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

interface Candidates {
  names: readonly string[];
  lower: string[];
}

/**
 * Did-you-mean suggestions within a budget of work. One model's reading shares one Suggester, so a model
 * with thousands of unknown names costs a bounded amount: answers are cached by name, and once the budget
 * is spent diagnostics come without suggestions. Pass the same candidate array again to reuse its index.
 */
export class Suggester {
  private readonly indexes = new WeakMap<readonly string[], Candidates & { answers: Map<string, string | undefined> }>();

  constructor(private budget = DEFAULT_BUDGET) {}

  /**
   * The closest candidate, if close enough to be a likely typo (case differences and, unless `prefixes` is false,
   * prefixes count as near: `OrderId` for `OrderIdentifier`, but not the aggregate `Order` for a type `OrderLine`).
   */
  closest(name: string, candidates: readonly string[], prefixes = true): string | undefined {
    if (name.length > MAX_SUGGESTED_NAME) return undefined;
    let index = this.indexes.get(candidates);
    if (!index) {
      index = { names: candidates, lower: candidates.map((c) => c.toLowerCase()), answers: new Map() };
      this.indexes.set(candidates, index);
    }
    const key = prefixes ? name : `\0${name}`;
    if (index.answers.has(key)) return index.answers.get(key);
    const answer = this.search(name, index, prefixes);
    if (answer !== null) index.answers.set(key, answer);
    return answer ?? undefined;
  }

  didYouMean(name: string, candidates: readonly string[]): Suggestion | undefined {
    const match = this.closest(name, candidates);
    return match === undefined ? undefined : { message: `did you mean \`${match}\`?`, replacement: match };
  }

  /** Null when the budget ran out before every candidate was seen. */
  private search(name: string, { names, lower }: Candidates, prefixes: boolean): string | undefined | null {
    const tolerance = Math.max(2, Math.floor(name.length / 3));
    const a = name.toLowerCase();
    let best: string | undefined;
    let bestDistance = Infinity;
    for (let i = 0; i < names.length; i++) {
      const candidate = names[i]!;
      const b = lower[i]!;
      // Only a distance below the best so far (and within tolerance) matters: that bounds the comparison.
      const limit = Math.min(tolerance, Math.ceil(bestDistance) - 1);
      this.budget -= a.length + b.length + (Math.abs(a.length - b.length) <= limit ? a.length * (2 * limit + 1) : 0);
      if (this.budget < 0) return null;
      // A renamed type often keeps its old name as a prefix (`OrderId` -> `OrderIdentifier`).
      const prefix = prefixes && Math.min(a.length, b.length) >= 3 && (a.startsWith(b) || b.startsWith(a));
      const distance = a === b ? 0.5 : prefix ? 1.5 : limit < 1 ? Infinity : boundedDistance(name, candidate, limit);
      if (distance < bestDistance && distance <= tolerance) [best, bestDistance] = [candidate, distance];
    }
    return best;
  }
}

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
}

const ORDINALS: Readonly<Record<string, string>> = {
  '1st': 'First', '2nd': 'Second', '3rd': 'Third', '4th': 'Fourth', '5th': 'Fifth',
  '6th': 'Sixth', '7th': 'Seventh', '8th': 'Eighth', '9th': 'Ninth', '10th': 'Tenth',
};

/**
 * `order-item` -> `OrderItem`; `9Order` -> `Order`; `1stReminder` -> `FirstReminder`. A leading word of digits
 * alone is dropped, but a word is never cut: when one starts with digits and is no ordinal we can spell, there is
 * no suggestion (undefined) rather than a mangled name such as `stReminder`.
 */
export function toPascalCase(name: string): string | undefined {
  const parts = words(name);
  while (parts.length > 0 && /^[0-9]+$/.test(parts[0]!)) parts.shift();
  if (parts.length === 0) return undefined;
  if (/^[0-9]/.test(parts[0]!)) {
    const spelled = ORDINALS[parts[0]!.toLowerCase()];
    if (spelled === undefined) return undefined;
    parts[0] = spelled;
  }
  return parts.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}

/** `Order-Total` -> `orderTotal`; `9count` -> `count`; `1stName` -> `firstName`. */
export function toCamelCase(name: string): string | undefined {
  const pascal = toPascalCase(name);
  return pascal === undefined ? undefined : pascal[0]!.toLowerCase() + pascal.slice(1);
}
