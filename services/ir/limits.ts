/**
 * How much one model may hold, so that reading and checking it takes bounded time and memory whatever its
 * author wrote. Going past one is a diagnostic (`LIMIT_EXCEEDED`, or a schema diagnostic for a field's bounds).
 */
export const IR_LIMITS = {
  maxFiles: 500,
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 4 * 1024 * 1024,
  /** Nesting of YAML collections; an IR file needs about ten levels. */
  maxDepth: 32,
  /** Alias expansions per file (YAML's "billion laughs"). */
  maxAliases: 100,
  /** YAML syntax errors reported per file; later ones mostly follow from the first. */
  maxSyntaxErrors: 20,
  /** Diagnostics returned at most; whether the model is valid is decided on all of them. */
  maxDiagnostics: 1000,
  /** Validation rules: a `pattern`'s length, and the longest `min_length` (generated samples are that long). */
  maxPatternLength: 500,
  maxMinLength: 10_000,
} as const;

/** Field bounds, written into the JSON Schema. */
export const SCHEMA_BOUNDS = {
  name: 100,
  namespace: 200,
  description: 10_000,
  /** `List<Context.Name>` with both names at their longest. */
  typeExpression: 210,
  maxLength: 100_000_000,
  /** Items per list. */
  contextItems: 1000,
  members: 500,
  entities: 200,
  enumValues: 1000,
  emits: 50,
} as const;

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${Math.ceil(bytes / 1024)} KiB` : `${bytes} bytes`;
}
