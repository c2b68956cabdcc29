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
