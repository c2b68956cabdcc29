/** A small line diff (longest common subsequence) for showing an agent's edit on its card. */

export interface DiffLine {
  kind: 'same' | 'add' | 'del' | 'gap';
  text: string;
}

/** Beyond this many line pairs the diff is not worth the work: the old text out, the new text in. */
const MAX_CELLS = 2_000_000;
const CONTEXT = 3;

export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  // Common head and tail first: edits are usually local.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const middle: DiffLine[] = [];
  if (midA.length * midB.length > MAX_CELLS) {
    for (const text of midA) middle.push({ kind: 'del', text });
    for (const text of midB) middle.push({ kind: 'add', text });
  } else {
    const n = midA.length;
    const m = midB.length;
    const table = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        table[i * (m + 1) + j] = midA[i] === midB[j] ? table[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(table[(i + 1) * (m + 1) + j]!, table[i * (m + 1) + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        middle.push({ kind: 'same', text: midA[i]! });
        i++;
        j++;
      } else if (j < m && (i >= n || table[i * (m + 1) + j + 1]! >= table[(i + 1) * (m + 1) + j]!)) {
        middle.push({ kind: 'add', text: midB[j++]! });
      } else {
        middle.push({ kind: 'del', text: midA[i++]! });
      }
    }
  }
  const all: DiffLine[] = [...a.slice(0, head).map((text) => ({ kind: 'same' as const, text })), ...middle, ...a.slice(a.length - tail).map((text) => ({ kind: 'same' as const, text }))];
  return collapse(all);
}

/** Unchanged stretches shrink to a few lines of context around each change. */
function collapse(lines: DiffLine[]): DiffLine[] {
  const keep = new Array<boolean>(lines.length).fill(false);
  lines.forEach((line, i) => {
    if (line.kind === 'same') return;
    for (let k = Math.max(0, i - CONTEXT); k <= Math.min(lines.length - 1, i + CONTEXT); k++) keep[k] = true;
  });
  const out: DiffLine[] = [];
  let skipped = 0;
  lines.forEach((line, i) => {
    if (keep[i]) {
      if (skipped) out.push({ kind: 'gap', text: `⋯ ${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
      skipped = 0;
      out.push(line);
    } else {
      skipped++;
    }
  });
  if (skipped && out.length) out.push({ kind: 'gap', text: `⋯ ${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
  return out;
}
