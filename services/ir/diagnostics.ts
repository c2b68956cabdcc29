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
] as const;
export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

export type Severity = 'error' | 'warning';

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

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Orders diagnostics by file, then position, so output is stable. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code),
  );
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest candidate, if close enough to be a likely typo (case differences and prefixes count as near). */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const [a, b] = [name.toLowerCase(), candidate.toLowerCase()];
    // A renamed type often keeps its old name as a prefix (`OrderId` -> `OrderIdentifier`).
    const prefix = Math.min(a.length, b.length) >= 3 && (a.startsWith(b) || b.startsWith(a));
    const distance = a === b ? 0.5 : prefix ? 1.5 : editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  const tolerance = Math.max(2, Math.floor(name.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

export function didYouMean(name: string, candidates: Iterable<string>): Suggestion | undefined {
  const match = closest(name, candidates);
  return match === undefined ? undefined : { message: `did you mean \`${match}\`?`, replacement: match };
}

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
}

/** `order-item` -> `OrderItem`; `9Order` -> `Order`. Undefined when nothing sensible is left. */
export function toPascalCase(name: string): string | undefined {
  const result = words(name)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('')
    .replace(/^[0-9]+/, '');
  return result === '' ? undefined : result;
}

/** `Order-Total` -> `orderTotal`; `9count` -> `count`. */
export function toCamelCase(name: string): string | undefined {
  const pascal = toPascalCase(name);
  return pascal === undefined ? undefined : pascal[0]!.toLowerCase() + pascal.slice(1);
}
