/**
 * A string a `pattern` rule accepts, built from the pattern itself, for the generated tests' sample values when no
 * stock sample fits (`^[A-Z]{3}-\d{4}$`, `^(?<kind>[a-z]+)-\k<kind>$`). Covers the regular subset models use:
 * literals and escapes, classes and their ranges, `.`, `\d \w \s`, groups (capturing, named, non-capturing) with
 * alternation, quantifiers, back-references and `\p{...}`. Anything else (lookarounds) gives undefined, as does a
 * result the pattern or the length rules refuse; the caller checks with the real RegExp either way. Pure and bounded:
 * the pattern comes from the user's model, so recursion and output are capped.
 */

type Node =
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'group'; node: Node; index?: number; name?: string }
  | { kind: 'repeat'; node: Node; min: number; max: number }
  | { kind: 'char'; value: string }
  | { kind: 'backref'; ref: number | string }
  | { kind: 'empty' };

class Unsupported extends Error {}

const MAX_DEPTH = 32;
const MAX_OUTPUT = 10_000;
/** Characters tried, in order, for a negated class or a class of escapes: the first the class allows is taken. */
const PROBES = ['a', 'A', '1', 'x', 'Z', '0', '_', '-', '.', ' '];

class Parser {
  pos = 0;
  groups = 0;
  constructor(readonly src: string) {}

  parse(): Node {
    const node = this.alternation(0);
    if (this.pos < this.src.length) throw new Unsupported();
    return node;
  }

  private alternation(depth: number): Node {
    if (depth > MAX_DEPTH) throw new Unsupported();
    const options = [this.sequence(depth)];
    while (this.src[this.pos] === '|') {
      this.pos += 1;
      options.push(this.sequence(depth));
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  }

  private sequence(depth: number): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') {
      const atom = this.atom(depth);
      items.push(this.quantified(atom));
    }
    return { kind: 'seq', items };
  }

  private quantified(atom: Node): Node {
    const c = this.src[this.pos];
    let min: number;
    let max: number;
    if (c === '*' || c === '+' || c === '?') {
      this.pos += 1;
      [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    } else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.pos))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos))!;
      this.pos += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    } else {
      return atom;
    }
    if (this.src[this.pos] === '?') this.pos += 1; // lazy: the same strings
    return { kind: 'repeat', node: atom, min, max };
  }

  private atom(depth: number): Node {
    const c = this.src[this.pos]!;
    this.pos += 1;
    switch (c) {
      case '^':
      case '$':
        return { kind: 'empty' };
      case '.':
        return { kind: 'char', value: 'a' };
      case '[':
        return { kind: 'char', value: this.charClass() };
      case '(':
        return this.group(depth);
      case '\\':
        return this.escape();
      default:
        return { kind: 'char', value: c };
    }
  }

  private group(depth: number): Node {
    let name: string | undefined;
    let capturing = true;
    if (this.src[this.pos] === '?') {
      const rest = this.src.slice(this.pos);
      const named = /^\?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
      if (named) {
        name = named[1];
        this.pos += named[0].length;
      } else if (rest.startsWith('?:')) {
        capturing = false;
        this.pos += 2;
      } else {
        throw new Unsupported(); // lookarounds
      }
    }
    const index = capturing ? ++this.groups : undefined;
    const node = this.alternation(depth + 1);
    if (this.src[this.pos] !== ')') throw new Unsupported();
    this.pos += 1;
    return { kind: 'group', node, ...(index === undefined ? {} : { index }), ...(name === undefined ? {} : { name }) };
  }

  private escape(): Node {
    const c = this.src[this.pos];
    if (c === undefined) throw new Unsupported();
    this.pos += 1;
    if (c === 'b' || c === 'B') return { kind: 'empty' };
    if (c === 'k') {
      const m = /^<([A-Za-z_][A-Za-z0-9_]*)>/.exec(this.src.slice(this.pos));
      if (!m) throw new Unsupported();
      this.pos += m[0].length;
      return { kind: 'backref', ref: m[1]! };
    }
    if (/[1-9]/.test(c)) return { kind: 'backref', ref: Number(c) };
    if (c === 'p' || c === 'P') {
      const test = this.property(c);
      const pick = PROBES.find(test);
      if (pick === undefined) throw new Unsupported();
      return { kind: 'char', value: pick };
    }
    return { kind: 'char', value: classEscape(c) ?? literalEscape(c) };
  }

  /** `\p{...}` or `\P{...}` (the parser is past the letter): a test of one character, by the engine's own tables. */
  private property(letter: string): (ch: string) => boolean {
    const m = /^\{[A-Za-z_=]+\}/.exec(this.src.slice(this.pos));
    if (!m) throw new Unsupported();
    this.pos += m[0].length;
    const regex = new RegExp(`^\\${letter}${m[0]}$`, 'u');
    return (ch) => regex.test(ch);
  }

  /** A character the class `[...]` allows (the parser is past its `[`). */
  private charClass(): string {
    const negated = this.src[this.pos] === '^';
    if (negated) this.pos += 1;
    const allowed: Array<(ch: string) => boolean> = [];
    const firsts: string[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== ']') {
      let ch = this.src[this.pos]!;
      this.pos += 1;
      if (ch === '\\') {
        const e = this.src[this.pos];
        if (e === undefined) throw new Unsupported();
        this.pos += 1;
        if (e === 'p' || e === 'P') {
          const test = this.property(e);
          allowed.push(test);
          const pick = PROBES.find(test);
          if (pick !== undefined) firsts.push(pick);
          continue;
        }
        const shorthand = classEscape(e);
        if (shorthand !== undefined) {
          const test = shorthandTest(e);
          allowed.push(test);
          firsts.push(shorthand);
          continue;
        }
        ch = literalEscape(e);
      }
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== undefined && this.src[this.pos + 1] !== ']') {
        this.pos += 1;
        let end = this.src[this.pos]!;
        this.pos += 1;
        if (end === '\\') {
          end = literalEscape(this.src[this.pos] ?? '');
          this.pos += 1;
        }
        const [lo, hi] = [ch.codePointAt(0)!, end.codePointAt(0)!];
        allowed.push((x) => x.codePointAt(0)! >= lo && x.codePointAt(0)! <= hi);
        firsts.push(ch);
      } else {
        const single = ch;
        allowed.push((x) => x === single);
        firsts.push(single);
      }
    }
    if (this.src[this.pos] !== ']') throw new Unsupported();
    this.pos += 1;
    const inClass = (x: string) => allowed.some((test) => test(x));
    if (!negated) {
      if (firsts.length === 0) throw new Unsupported();
      return firsts.find((f) => PROBES.includes(f)) ?? firsts[0]!;
    }
    const pick = PROBES.find((p) => !inClass(p));
    if (pick === undefined) throw new Unsupported();
    return pick;
  }
}

/** What `\d`, `\w`, `\s` (and their negations) stand for, as one character; undefined for other escapes. */
function classEscape(c: string): string | undefined {
  return { d: '1', w: 'a', s: ' ', D: 'a', W: '-', S: 'a' }[c];
}

function shorthandTest(c: string): (x: string) => boolean {
  const tests: Record<string, RegExp> = { d: /\d/, w: /\w/, s: /\s/, D: /\D/, W: /\W/, S: /\S/ };
  return (x) => tests[c]!.test(x);
}

function literalEscape(c: string): string {
  if (c === 'p' || c === 'P' || c === 'u' || c === 'x' || c === 'c') throw new Unsupported();
  return { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', '0': '\0' }[c] ?? c;
}

/** The text of `node` with every unbounded or optional repeat taken `extra` more times than its minimum. */
function render(node: Node, extra: number, groups: Map<number | string, string>, budget: { left: number }): string {
  if (--budget.left < 0) throw new Unsupported();
  switch (node.kind) {
    case 'empty':
      return '';
    case 'char':
      return node.value;
    case 'seq':
      return node.items.map((n) => render(n, extra, groups, budget)).join('');
    case 'alt':
      return render(node.options[0]!, extra, groups, budget);
    case 'group': {
      const text = render(node.node, extra, groups, budget);
      if (node.index !== undefined) groups.set(node.index, text);
      if (node.name !== undefined) groups.set(node.name, text);
      return text;
    }
    case 'repeat': {
      const count = Math.min(node.max, Math.max(node.min, node.min === 0 && node.max === 1 ? 0 : node.min + extra));
      let out = '';
      for (let i = 0; i < count; i++) {
        out += render(node.node, extra, groups, budget);
        if (out.length > MAX_OUTPUT) throw new Unsupported();
      }
      return out;
    }
    case 'backref':
      return groups.get(node.ref) ?? '';
  }
}

/** A string `pattern` (JavaScript syntax, `u` flag) and the length rules accept, or undefined. */
export function sampleFromPattern(pattern: string, minLength = 0, maxLength = Infinity): string | undefined {
  let tree: Node;
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'u');
    tree = new Parser(pattern).parse();
  } catch {
    return undefined;
  }
  for (let extra = 0; extra <= 64; extra++) {
    let text: string;
    try {
      text = render(tree, extra, new Map(), { left: 100_000 });
    } catch {
      return undefined;
    }
    if (text.length > maxLength) return undefined;
    if (text.length >= minLength && regex.test(text)) return text;
  }
  return undefined;
}
