/**
 * Whether a validation `pattern` has the shape that backtracks catastrophically: a repeated group holding a
 * repetition that can match the same text in many ways, like `(\w+)*` or `(a+b?)+`. The generated app runs the
 * pattern on its users' input and generation tests sample values against it, so such a pattern is refused.
 * A repeated group is safe when a mandatory character of its own cannot be matched by its inner repetitions
 * (`([a-z]+-)*`): each round then ends at one place. Heuristic, checked on printable ASCII; the worker
 * deadline bounds what it misses.
 */

interface Quantifier {
  min: number;
  max: number;
}

type Piece =
  | { kind: 'atom'; source: string; quantifier?: Quantifier }
  | { kind: 'group'; alternatives: Piece[][]; quantifier?: Quantifier };

const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));

/** A small parser of JavaScript regex syntax: enough to see groups, atoms and quantifiers. */
class PatternReader {
  private at = 0;

  constructor(private readonly source: string) {}

  alternatives(): Piece[][] {
    const result: Piece[][] = [[]];
    while (this.at < this.source.length) {
      const char = this.source[this.at]!;
      if (char === ')') break;
      if (char === '|') {
        this.at++;
        result.push([]);
        continue;
      }
      const piece = this.piece();
      if (piece) result.at(-1)!.push(piece);
    }
    return result;
  }

  private piece(): Piece | undefined {
    const start = this.at;
    const char = this.source[this.at]!;
    let piece: Piece | undefined;
    if (char === '(') {
      this.at++;
      const lookaround = /^\?(?:<?[=!])/.exec(this.source.slice(this.at, this.at + 3));
      const named = /^\?<[A-Za-z_$][\w$]*>/.exec(this.source.slice(this.at, this.at + 40));
      if (lookaround) this.at += lookaround[0].length;
      else if (named) this.at += named[0].length;
      else if (this.source.startsWith('?:', this.at)) this.at += 2;
      const alternatives = this.alternatives();
      this.at++; // ')'
      // A lookaround matches no text: it cannot make a repetition ambiguous.
      if (!lookaround) piece = { kind: 'group', alternatives };
    } else if (char === '[') {
      this.at++;
      while (this.at < this.source.length && this.source[this.at] !== ']') this.at += this.source[this.at] === '\\' ? 2 : 1;
      this.at++;
      piece = { kind: 'atom', source: this.source.slice(start, this.at) };
    } else if (char === '\\') {
      const escape = /^\\(?:[pPu]\{[^}]*\}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z]|[1-9]\d*|k<[^>]*>|.)/su.exec(this.source.slice(this.at));
      this.at += escape ? escape[0].length : 1;
      const text = this.source.slice(start, this.at);
      // Anchors match no text; a backreference matches what its group did (treated as anything).
      if (!/^\\[bB]$/.test(text)) piece = { kind: 'atom', source: /^\\(?:[1-9]|k<)/.test(text) ? '[^]' : text };
    } else if (char === '^' || char === '$') {
      this.at++;
    } else {
      this.at += char.codePointAt(0)! > 0xffff ? 2 : 1;
      piece = { kind: 'atom', source: this.source.slice(start, this.at) };
    }
    const quantifier = this.quantifier();
    if (piece && quantifier) piece.quantifier = quantifier;
    return piece;
  }

  private quantifier(): Quantifier | undefined {
    const match = /^(?:([*+?])|\{(\d+)(?:(,)(\d*))?\})\??/.exec(this.source.slice(this.at, this.at + 30));
    if (!match) return undefined;
    this.at += match[0].length;
    if (match[1] === '*') return { min: 0, max: Infinity };
    if (match[1] === '+') return { min: 1, max: Infinity };
    if (match[1] === '?') return { min: 0, max: 1 };
    const min = Number(match[2]);
    return { min, max: match[3] === undefined ? min : match[4] ? Number(match[4]) : Infinity };
  }
}

const repeats = (piece: Piece): boolean => (piece.quantifier?.max ?? 1) > 1;

/** Every repeated piece inside `alternatives`, however deep. */
function innerRepetitions(alternatives: Piece[][]): Piece[] {
  return alternatives.flat().flatMap((piece) => [
    ...(repeats(piece) ? [piece] : []),
    ...(piece.kind === 'group' ? innerRepetitions(piece.alternatives) : []),
  ]);
}

/** The printable characters a piece can match first; a group counts as matching anything. */
function matches(piece: Piece): (char: string) => boolean {
  if (piece.kind === 'group') return () => true;
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${piece.source})$`, 'u');
  } catch {
    return () => true;
  }
  // One character against one atom: no backtracking to speak of.
  return (char) => regex.test(char);
}

function ambiguous(group: Piece & { kind: 'group' }): boolean {
  const inner = innerRepetitions(group.alternatives);
  if (inner.length === 0) return false;
  if (group.alternatives.length > 1) return true;
  const innerMatch = inner.map(matches);
  const delimiters = group.alternatives[0]!.filter((piece) => piece.kind === 'atom' && (piece.quantifier?.min ?? 1) >= 1);
  return !delimiters.some((delimiter) => {
    const own = PRINTABLE.filter(matches(delimiter));
    return own.length > 0 && own.every((char) => !innerMatch.some((match) => match(char)));
  });
}

/** Why `pattern` may backtrack catastrophically, or undefined. `pattern` must compile with the `u` flag. */
export function catastrophicShape(pattern: string): string | undefined {
  const visit = (pieces: Piece[]): string | undefined => {
    for (const piece of pieces) {
      if (piece.kind !== 'group') continue;
      if (repeats(piece) && ambiguous(piece)) return 'a repeated group holds a repetition that can match the same text in many ways';
      const inner = visit(piece.alternatives.flat());
      if (inner) return inner;
    }
    return undefined;
  };
  return visit(new PatternReader(pattern).alternatives().flat());
}
