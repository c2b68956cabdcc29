/**
 * Redaction of secret values: each value, and its base64, hex and URL-encoded forms, becomes `[secret:NAME]`.
 * Works on text (JS strings) and on bytes (`Buffer`s, matched on their UTF-8 form), whole or as a stream whose
 * chunks may split a value: a stream holds back only the longest tail that could still begin a value.
 */

export interface NamedSecret {
  name: string;
  value: string;
}

/** Values shorter than this are not redacted: "1" or "yes" would blank out ordinary output. */
export const MIN_REDACTED_LENGTH = 4;

interface Pattern {
  text: string;
  marker: string;
}

function formsOf(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const withNewline = Buffer.from(`${value}\n`, 'utf8');
  const forms = new Set<string>([
    value,
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    // `echo "$S" | base64`: the value and its newline.
    withNewline.toString('base64'),
    withNewline.toString('base64').replace(/=+$/, ''),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%20/g, '+'),
  ]);
  return [...forms].filter((form) => form.length >= MIN_REDACTED_LENGTH);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One set of patterns in one alphabet (UTF-16 text, or bytes as latin1), with the regular expression over them. */
class Matcher {
  readonly regex: RegExp | null;
  readonly markers = new Map<string, string>();
  readonly maxLength: number;
  /** Patterns by their first character: a tail is compared only with those that could begin it. */
  private readonly byFirst = new Map<string, Pattern[]>();

  constructor(private readonly patterns: Pattern[]) {
    // Longest first: at one position the alternation takes the first that matches.
    patterns.sort((a, b) => b.text.length - a.text.length);
    for (const pattern of patterns) if (!this.markers.has(pattern.text)) this.markers.set(pattern.text, pattern.marker);
    this.regex = patterns.length === 0 ? null : new RegExp(patterns.map((p) => escapeRegExp(p.text)).join('|'), 'g');
    this.maxLength = patterns.reduce((max, p) => Math.max(max, p.text.length), 0);
    for (const pattern of patterns) {
      const first = pattern.text[0]!;
      const list = this.byFirst.get(first);
      if (list) list.push(pattern);
      else this.byFirst.set(first, [pattern]);
    }
  }

  replace(text: string): string {
    if (!this.regex) return text;
    return text.replace(this.regex, (match) => this.markers.get(match) ?? '[secret]');
  }

  /** Where the longest tail of `text` that is a proper beginning of some pattern starts (text.length: none). */
  partialTailStart(text: string, from: number): number {
    const start = Math.max(from, text.length - (this.maxLength - 1));
    for (let i = start; i < text.length; i++) {
      const candidates = this.byFirst.get(text[i]!);
      if (!candidates) continue;
      const tailLength = text.length - i;
      for (const pattern of candidates) {
        if (pattern.text.length <= tailLength) continue;
        let j = 1;
        while (j < tailLength && pattern.text.charCodeAt(j) === text.charCodeAt(i + j)) j++;
        if (j === tailLength) return i;
      }
    }
    return text.length;
  }

  private begunLonger(tail: string): boolean {
    return tail.length < this.maxLength && this.patterns.some((p) => p.text.length > tail.length && p.text.startsWith(tail));
  }

  /** Redacts what is certain; returns the output and the tail kept for the next chunk. */
  push(buffer: string): { out: string; rest: string } {
    if (!this.regex) return { out: buffer, rest: '' };
    let out = '';
    let pos = 0;
    this.regex.lastIndex = 0;
    for (let match = this.regex.exec(buffer); match; match = this.regex.exec(buffer)) {
      // A longer pattern may begin here and end in the next chunk: decide once it is known.
      if (this.begunLonger(buffer.slice(match.index))) {
        return { out: out + buffer.slice(pos, match.index), rest: buffer.slice(match.index) };
      }
      out += buffer.slice(pos, match.index) + (this.markers.get(match[0]) ?? '[secret]');
      pos = match.index + match[0].length;
    }
    const hold = this.partialTailStart(buffer, pos);
    return { out: out + buffer.slice(pos, hold), rest: buffer.slice(hold) };
  }
}

export class Redactor {
  private readonly text: Matcher;
  private readonly bytes: Matcher;
  readonly names: readonly string[];

  constructor(secrets: readonly NamedSecret[]) {
    const textPatterns: Pattern[] = [];
    const bytePatterns: Pattern[] = [];
    for (const secret of secrets) {
      if (secret.value.length < MIN_REDACTED_LENGTH) continue;
      const marker = `[secret:${secret.name}]`;
      for (const form of formsOf(secret.value)) {
        textPatterns.push({ text: form, marker });
        bytePatterns.push({ text: Buffer.from(form, 'utf8').toString('latin1'), marker });
      }
    }
    this.text = new Matcher(textPatterns);
    this.bytes = new Matcher(bytePatterns);
    this.names = secrets.map((secret) => secret.name);
  }

  static readonly none = new Redactor([]);

  get empty(): boolean {
    return this.text.regex === null;
  }

  redact(text: string): string {
    return this.text.replace(text);
  }

  redactBytes(data: Buffer): Buffer {
    if (this.empty) return data;
    return Buffer.from(this.bytes.replace(data.toString('latin1')), 'latin1');
  }

  /** Every string inside a JSON-like value (object keys kept), redacted; a new value when anything changed. */
  redactValue<T>(value: T): T {
    if (this.empty) return value;
    return walk(value, (text) => this.redact(text)) as T;
  }

  /** A text stream: `push` returns what is safe to show now, `end` the rest. */
  textStream(): RedactingStream<string> {
    let rest = '';
    return {
      push: (chunk) => {
        const result = this.text.push(rest + chunk);
        rest = result.rest;
        return result.out;
      },
      pending: () => rest,
      end: () => {
        const out = this.text.replace(rest);
        rest = '';
        return out;
      },
    };
  }

  /** A byte stream, matched on the bytes (so a character split across chunks is no matter). */
  byteStream(): RedactingStream<Buffer> {
    let rest = '';
    return {
      push: (chunk) => {
        const result = this.bytes.push(rest + chunk.toString('latin1'));
        rest = result.rest;
        return Buffer.from(result.out, 'latin1');
      },
      pending: () => Buffer.from(rest, 'latin1'),
      end: () => {
        const out = Buffer.from(this.bytes.replace(rest), 'latin1');
        rest = '';
        return out;
      },
    };
  }
}

export interface RedactingStream<T> {
  push(chunk: T): T;
  /** What is held back (it may begin a value). */
  pending(): T;
  end(): T;
}

function walk(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => walk(item, redact));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, walk(item, redact)]));
  }
  return value;
}
