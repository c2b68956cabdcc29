/** YAML text -> plain data, plus where each JSON pointer sits in the text, plus syntax diagnostics. */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { Diagnostic } from './diagnostics.js';

export interface Position {
  line: number;
  column: number;
}

/** Where a value starts, and for a map entry where its key starts (unknown fields point at the key). */
export interface Located {
  value: Position;
  key?: Position;
}

export interface ParsedFile {
  file: string;
  /** Undefined when the text is not valid YAML or is empty. */
  data: unknown;
  positions: Map<string, Located>;
  diagnostics: Diagnostic[];
}

export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function pointerOf(tokens: ReadonlyArray<string | number>): string {
  return tokens.map((token) => `/${escapePointerToken(String(token))}`).join('');
}

/** The position of `pointer`, or of its nearest ancestor that has one (a missing field points at its parent). */
export function locate(parsed: Pick<ParsedFile, 'positions'>, pointer: string, at: 'key' | 'value' = 'value'): Position {
  for (let current = pointer; ; current = current.slice(0, current.lastIndexOf('/'))) {
    const found = parsed.positions.get(current);
    if (found) return (at === 'key' ? found.key : undefined) ?? found.value;
    if (current === '') return { line: 1, column: 1 };
  }
}

/**
 * The offset of the innermost `[` or `{` still open at `end`, skipping quoted text and comments. yaml reports
 * an unclosed flow collection where the text ends; the opening bracket is what a person needs to see.
 */
function unclosedBracket(text: string, end: number, bracket: '[' | '{'): number | undefined {
  const open: Array<{ char: string; offset: number }> = [];
  let quote: string | undefined;
  for (let i = 0; i < end && i < text.length; i++) {
    const char = text[i]!;
    if (quote !== undefined) {
      if (char === '\\' && quote === '"') i++;
      else if (char === quote) quote = undefined;
    } else if ((char === '"' || char === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]!))) quote = char;
    else if (char === '#' && (i === 0 || /\s/.test(text[i - 1]!))) while (i < end && text[i + 1] !== '\n') i++;
    else if (char === '[' || char === '{') open.push({ char, offset: i });
    else if (char === ']' || char === '}') open.pop();
  }
  return open.findLast((entry) => entry.char === bracket)?.offset;
}

export function parseFile(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const diagnostics: Diagnostic[] = [...doc.errors, ...doc.warnings].map((problem) => {
    const closer = /end with a ([\]}])/.exec(problem.message)?.[1];
    const opened = closer === undefined ? undefined : unclosedBracket(text, problem.pos[0], closer === ']' ? '[' : '{');
    return {
      code: 'YAML_SYNTAX',
      severity: doc.errors.includes(problem) ? 'error' : 'warning',
      file,
      ...at(opened ?? problem.pos[0]),
      pointer: '',
      message:
        opened !== undefined
          ? `invalid YAML: the \`${closer === ']' ? '[' : '{'}\` here is never closed`
          : problem.code === 'MULTIPLE_DOCS'
            ? 'invalid YAML: an IR file holds one document; remove the `---` separator or split the file'
            : `invalid YAML: ${problem.message}`,
      ...(opened === undefined ? {} : { suggestion: { message: `close it with \`${closer}\`` } }),
    };
  });
  const positions = new Map<string, Located>();
  if (doc.errors.length > 0) return { file, data: undefined, positions, diagnostics };

  const walk = (node: unknown, pointer: string, key?: Position): void => {
    const range = (node as Node | null)?.range;
    if (range) positions.set(pointer, { value: at(range[0]), ...(key ? { key } : {}) });
    else if (key) positions.set(pointer, { value: key, key });
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const keyRange = pair.key.range;
        walk(pair.value, `${pointer}/${escapePointerToken(String(pair.key.value))}`, keyRange ? at(keyRange[0]) : undefined);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => walk(item, `${pointer}/${index}`));
    }
  };
  walk(doc.contents, '');

  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    diagnostics.push({
      code: 'EMPTY_FILE',
      severity: 'error',
      file,
      line: 1,
      column: 1,
      pointer: '',
      message: 'the file is empty; it should hold `project:` or `bounded_context:`',
    });
    return { file, data: undefined, positions, diagnostics };
  }
  return { file, data, positions, diagnostics };
}
