/** A tiny element builder: text goes in as text nodes, never as HTML, so API data cannot inject markup. */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  /** Becomes `data-testid`: the stable handle end-to-end tests use. */
  testid?: string;
  [attribute: string]: unknown;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (key === 'class') {
      el.className = String(value);
    } else if (key === 'testid') {
      el.dataset.testid = String(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node & ParentNode, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

/** Replaces everything inside `parent`. */
export function replace(parent: Node & ParentNode, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A form's named field values as strings (trimmed, except passwords). */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value !== 'string') continue;
    const input = form.elements.namedItem(name);
    const isPassword = input instanceof HTMLInputElement && input.type === 'password';
    values[name] = isPassword ? value : value.trim();
  }
  return values;
}
