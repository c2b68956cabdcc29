/** YAML text -> plain data, plus where each JSON pointer sits in the text, plus syntax diagnostics. */
import { Composer, isMap, isPair, isScalar, isSeq, LineCounter, Parser, YAMLParseError, type CST, type Document, type Node } from 'yaml';
import type { Diagnostic } from './diagnostics.js';
import { IR_LIMITS } from './limits.js';

type Token = CST.Token;

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

/** The deepest collection of a YAML token stream, measured without recursion (composing recurses). */
function deepest(tokens: readonly Token[]): { depth: number; offset: number } {
  const stack: Array<{ token: Token; depth: number }> = tokens.map((token) => ({ token, depth: 0 }));
  let found = { depth: 0, offset: 0 };
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (depth > found.depth) found = { depth, offset: token.offset };
    if (token.type === 'document' && token.value) stack.push({ token: token.value, depth });
    if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      for (const item of token.items) {
        if ('key' in item && item.key) stack.push({ token: item.key, depth: depth + 1 });
        if (item.value) stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
  return found;
}

function limitDiagnostic(file: string, position: Position, message: string): Diagnostic {
  return { code: 'LIMIT_EXCEEDED', severity: 'error', file, ...position, pointer: '', message };
}

/** YAML text -> data and positions; any failure to read it (too deep, too many aliases) is a diagnostic, never a throw. */
export function parseFile(file: string, text: string): ParsedFile {
  try {
    return parseYaml(file, text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { file, data: undefined, positions: new Map(), diagnostics: [limitDiagnostic(file, { line: 1, column: 1 }, `the file could not be read: ${message}`)] };
  }
}

function parseYaml(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  const positions = new Map<string, Located>();
  const deep = deepest(tokens);
  if (deep.depth > IR_LIMITS.maxDepth) {
    const message = `the YAML is nested more than ${IR_LIMITS.maxDepth} levels deep here; an IR file needs about ten`;
    return { file, data: undefined, positions, diagnostics: [limitDiagnostic(file, at(deep.offset), message)] };
  }
  // Keys are checked for duplicates below, in linear time: yaml's own check compares every pair.
  const composer = new Composer({ uniqueKeys: false });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, text.length)) {
    if (!doc) doc = next;
    else {
      doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
      break;
    }
  }
  if (!doc) throw new Error('the YAML holds no document');
  const problems = [...doc.errors, ...doc.warnings].slice(0, IR_LIMITS.maxSyntaxErrors);
  const diagnostics: Diagnostic[] = problems.map((problem) => {
    const closer = /end with a ([\]}])/.exec(problem.message)?.[1];
    const opened = closer === undefined ? undefined : unclosedBracket(text, problem.pos[0], closer === ']' ? '[' : '{');
    return {
      code: 'YAML_SYNTAX',
      severity: doc.errors.includes(problem as YAMLParseError) ? 'error' : 'warning',
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
  if (doc.errors.length > 0) return { file, data: undefined, positions, diagnostics };

  let duplicateKey = false;
  const walk = (node: unknown, pointer: string, key?: Position): void => {
    const range = (node as Node | null)?.range;
    if (range) positions.set(pointer, { value: at(range[0]), ...(key ? { key } : {}) });
    else if (key) positions.set(pointer, { value: key, key });
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const keyRange = pair.key.range;
        const keyAt = keyRange ? at(keyRange[0]) : undefined;
        if (seen.has(pair.key.value)) {
          duplicateKey = true;
          diagnostics.push({
            code: 'YAML_SYNTAX',
            severity: 'error',
            file,
            ...(keyAt ?? { line: 1, column: 1 }),
            pointer: `${pointer}/${escapePointerToken(String(pair.key.value))}`,
            message: `invalid YAML: the key \`${String(pair.key.value)}\` appears twice in this map`,
            suggestion: { message: 'remove one of them' },
          });
          continue;
        }
        seen.add(pair.key.value);
        walk(pair.value, `${pointer}/${escapePointerToken(String(pair.key.value))}`, keyAt);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => walk(item, `${pointer}/${index}`));
    }
  };
  walk(doc.contents, '');
  if (duplicateKey) return { file, data: undefined, positions, diagnostics };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: IR_LIMITS.maxAliases });
  } catch (err) {
    if (!(err instanceof ReferenceError && /alias count/i.test(err.message))) throw err;
    const message = `the file expands aliases (\`*name\`) too often: at most ${IR_LIMITS.maxAliases} expansions of what anchors (\`&name\`) name; write the values out instead`;
    return { file, data: undefined, positions, diagnostics: [...diagnostics, limitDiagnostic(file, { line: 1, column: 1 }, message)] };
  }
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
