/** Quick open and the command palette: one filtering list in a modal, driven from the keyboard. */
import { h, replace } from '../dom';

export interface PaletteItem {
  label: string;
  detail?: string;
  hint?: string;
  run(): void;
}

/** How well `query` matches `text` as a subsequence (higher is better), or -1. */
export function fuzzyScore(query: string, text: string): number {
  if (!query) return 0;
  const q = query.toLowerCase();
  const t = text.toLowerCase();
  let score = 0;
  let at = 0;
  let previous = -2;
  for (const ch of q) {
    const found = t.indexOf(ch, at);
    if (found < 0) return -1;
    score += found === previous + 1 ? 5 : 1;
    if (found === 0 || '/._- '.includes(t[found - 1] ?? '')) score += 3;
    previous = found;
    at = found + 1;
  }
  return score - t.length * 0.01;
}

let openPalette: HTMLDialogElement | null = null;

export function showPalette(options: { placeholder: string; items: PaletteItem[]; testid: string; initial?: string }): void {
  openPalette?.close();
  const input = h('input', { class: 'palette-input', placeholder: options.placeholder, testid: 'palette-input', spellcheck: 'false', autocomplete: 'off', value: options.initial ?? '' });
  const list = h('ul', { class: 'palette-list', role: 'listbox', testid: 'palette-list' });
  const dialog = h('dialog', { class: 'dialog palette', testid: options.testid, 'aria-label': options.placeholder }, input, list);
  let shown: PaletteItem[] = [];
  let index = 0;

  const choose = (item: PaletteItem | undefined) => {
    if (!item) return;
    dialog.close();
    item.run();
  };

  const render = () => {
    const query = input.value.trim();
    shown = options.items
      .map((item) => ({ item, score: fuzzyScore(query, item.detail ? `${item.detail}/${item.label}` : item.label) }))
      .filter((entry) => entry.score >= 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, 50)
      .map((entry) => entry.item);
    index = Math.min(index, Math.max(0, shown.length - 1));
    replace(
      list,
      ...shown.map((item, i) =>
        h(
          'li',
          {
            class: i === index ? 'palette-item active' : 'palette-item',
            role: 'option',
            testid: 'palette-item',
            'aria-selected': i === index ? 'true' : 'false',
            onmousedown: (event: MouseEvent) => {
              event.preventDefault();
              choose(item);
            },
          },
          h('span', { class: 'palette-label' }, item.label),
          item.detail ? h('span', { class: 'palette-detail muted' }, item.detail) : null,
          item.hint ? h('kbd', {}, item.hint) : null,
        ),
      ),
      shown.length === 0 ? h('li', { class: 'palette-item muted' }, 'Nothing matches') : null,
    );
    list.querySelector('.active')?.scrollIntoView({ block: 'nearest' });
  };

  input.addEventListener('input', () => {
    index = 0;
    render();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') index = Math.min(shown.length - 1, index + 1);
    else if (event.key === 'ArrowUp') index = Math.max(0, index - 1);
    else if (event.key === 'Enter') return choose(shown[index]);
    else return;
    event.preventDefault();
    render();
  });
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (openPalette === dialog) openPalette = null;
  });
  document.body.append(dialog);
  openPalette = dialog;
  dialog.showModal();
  render();
  input.focus();
}
