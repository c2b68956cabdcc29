/** Modal dialogs on the native <dialog> element: focus trapping and Escape come for free. */
import { h, type Child } from './dom';

export interface DialogHandle {
  dialog: HTMLDialogElement;
  close(): void;
}

export function openDialog(options: { title: string; testid: string; body: Child[]; onClose?: () => void }): DialogHandle {
  const dialog = h(
    'dialog',
    { class: 'dialog', testid: options.testid, 'aria-label': options.title },
    h('header', { class: 'dialog-header' }, h('h2', {}, options.title)),
    ...options.body,
  );
  document.body.append(dialog);
  dialog.addEventListener('close', () => {
    dialog.remove();
    options.onClose?.();
  });
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

/** Resolves true when the user confirms; Escape and Cancel resolve false. */
export function confirmDialog(options: { title: string; message: string; confirmLabel: string; danger?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    let confirmed = false;
    const handle = openDialog({
      title: options.title,
      testid: 'confirm-dialog',
      onClose: () => resolve(confirmed),
      body: [
        h('p', { class: 'dialog-text' }, options.message),
        h(
          'footer',
          { class: 'dialog-actions' },
          h('button', { type: 'button', class: 'btn btn-ghost', testid: 'confirm-cancel', onclick: () => handle.close() }, 'Cancel'),
          h(
            'button',
            {
              type: 'button',
              class: options.danger ? 'btn btn-danger' : 'btn btn-primary',
              testid: 'confirm-ok',
              onclick: () => {
                confirmed = true;
                handle.close();
              },
            },
            options.confirmLabel,
          ),
        ),
      ],
    });
  });
}

/** Asks for one line of text (a file name, a path); resolves null on Cancel or Escape. */
export function promptDialog(options: { title: string; label: string; value?: string; confirmLabel: string; hint?: string }): Promise<string | null> {
  return new Promise((resolve) => {
    let answer: string | null = null;
    const input = h('input', { class: 'input', value: options.value ?? '', testid: 'prompt-input', spellcheck: 'false', autocomplete: 'off' });
    const form = h(
      'form',
      { class: 'form', method: 'dialog' },
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, options.label), input, options.hint ? h('span', { class: 'field-hint' }, options.hint) : null),
      h(
        'footer',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', testid: 'prompt-cancel', onclick: () => handle.close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary', testid: 'prompt-ok' }, options.confirmLabel),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      answer = value;
      handle.close();
    });
    const handle = openDialog({ title: options.title, testid: 'prompt-dialog', body: [form], onClose: () => resolve(answer) });
    input.focus();
    // Select the name without its extension, as editors do on rename.
    const dot = input.value.lastIndexOf('.');
    const slash = input.value.lastIndexOf('/');
    input.setSelectionRange(slash + 1, dot > slash + 1 ? dot : input.value.length);
  });
}
