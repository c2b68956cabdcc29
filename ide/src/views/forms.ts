/** Form pieces shared by the views: labelled fields and error messages as people read them. */
import { ApiError } from '../api';
import { h } from '../dom';

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'RATE_LIMITED') {
      const wait = (err.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      return wait ? `${err.message} (in about ${Math.ceil(wait / 60)} min).` : err.message;
    }
    return err.message;
  }
  return 'Something unexpected went wrong. Reload the page and try again.';
}

/** An inline alert that is hidden while empty. */
export function errorBox(testid: string): { el: HTMLElement; show(err: unknown): void; clear(): void } {
  const el = h('div', { class: 'alert alert-error', role: 'alert', testid, hidden: true });
  return {
    el,
    show(err) {
      el.textContent = typeof err === 'string' ? err : errorMessage(err);
      el.hidden = false;
    },
    clear() {
      el.textContent = '';
      el.hidden = true;
    },
  };
}

export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h(
    'label',
    { class: 'field' },
    h('span', { class: 'field-label' }, label),
    input,
    hint ? h('span', { class: 'field-hint' }, hint) : null,
  );
}
