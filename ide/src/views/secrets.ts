/**
 * The secrets panel: the project's secrets (commands in the sandbox get them as environment variables) and the
 * person's own (their LLM keys and base URLs, used by their agent runs). Values go in through password inputs and
 * never come back: the API lists names, descriptions, fingerprints and dates only.
 */
import { request, type Project } from '../api';
import { confirmDialog } from '../dialog';
import { formValues, h, replace } from '../dom';
import { fullDate } from '../format';
import { errorBox } from './forms';

interface SecretInfo {
  name: string;
  description: string;
  fingerprint: string;
  createdAt: string;
  updatedAt: string;
}

const NAME_PATTERN = '[A-Z_][A-Z0-9_]{0,127}';

/** Where a list of secrets lives in the API. */
function secretsApi(base: string) {
  return {
    list: () => request<{ items: SecretInfo[] }>('GET', base),
    create: (body: { name: string; value: string; description?: string }) => request<SecretInfo>('POST', base, { body }),
    update: (name: string, body: { value?: string; description?: string }) => request<SecretInfo>('PUT', `${base}/${encodeURIComponent(name)}`, { body }),
    remove: (name: string) => request<void>('DELETE', `${base}/${encodeURIComponent(name)}`),
  };
}

/** One list with its add form; `canEdit` false: names only. */
function secretsSection(options: { title: string; hint: string; base: string; testid: string; canEdit: () => boolean; placeholder: string }) {
  const api = secretsApi(options.base);
  let items: SecretInfo[] = [];
  const list = h('ul', { class: 'secret-list', testid: `${options.testid}-list` });
  const error = errorBox(`${options.testid}-error`);
  const formSlot = h('div');

  const renderList = () => {
    if (items.length === 0) return replace(list, h('li', { class: 'muted secret-empty' }, 'None yet.'));
    replace(list, ...items.map(row));
  };

  const row = (secret: SecretInfo): HTMLElement => {
    const actions = h('span', { class: 'secret-actions' });
    const li = h(
      'li',
      { class: 'secret', testid: 'secret-row', 'data-name': secret.name, title: `Changed ${fullDate(secret.updatedAt)}` },
      h(
        'span',
        { class: 'secret-text' },
        h('code', { class: 'secret-name', testid: 'secret-name' }, secret.name),
        secret.description ? h('span', { class: 'secret-description muted', testid: 'secret-description' }, secret.description) : null,
        h('span', { class: 'secret-meta muted' }, h('span', { class: 'badge', testid: 'secret-fingerprint', title: 'Fingerprint of the value' }, secret.fingerprint), ` changed ${fullDate(secret.updatedAt)}`),
      ),
      actions,
    );
    if (!options.canEdit()) return li;
    const edit = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'secret-change' }, 'Change');
    const remove = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'secret-delete' }, 'Delete');
    edit.addEventListener('click', () => li.append(editForm(secret, li)));
    remove.addEventListener('click', async () => {
      const confirmed = await confirmDialog({
        title: `Delete ${secret.name}?`,
        message: 'Commands started from now on no longer get it. This cannot be undone.',
        confirmLabel: 'Delete',
        danger: true,
      });
      if (!confirmed) return;
      error.clear();
      try {
        await api.remove(secret.name);
        items = items.filter((item) => item.name !== secret.name);
        renderList();
      } catch (err) {
        error.show(err);
      }
    });
    replace(actions, edit, remove);
    return li;
  };

  const editForm = (secret: SecretInfo, li: HTMLElement): HTMLElement => {
    li.querySelector('.secret-edit')?.remove();
    const save = h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'secret-save' }, 'Save');
    const form = h(
      'form',
      { class: 'secret-edit', testid: 'secret-edit-form', novalidate: true },
      h('input', { name: 'value', type: 'password', autocomplete: 'new-password', placeholder: 'New value (blank: keep)', 'aria-label': `New value of ${secret.name}`, testid: 'secret-edit-value' }),
      h('input', { name: 'description', type: 'text', value: secret.description, placeholder: 'Description', 'aria-label': 'Description', testid: 'secret-edit-description' }),
      h('div', { class: 'invite-row' }, h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => form.remove() }, 'Cancel'), save),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      const { value = '', description = '' } = formValues(form);
      const change: { value?: string; description?: string } = {};
      if (value !== '') change.value = value;
      if (description !== secret.description) change.description = description;
      if (Object.keys(change).length === 0) return form.remove();
      save.disabled = true;
      try {
        const updated = await api.update(secret.name, change);
        items = items.map((item) => (item.name === updated.name ? updated : item));
        renderList();
      } catch (err) {
        error.show(err);
        save.disabled = false;
      }
    });
    return form;
  };

  const renderForm = () => {
    if (!options.canEdit()) return replace(formSlot, h('p', { class: 'muted' }, 'Changing secrets needs the "write" permission.'));
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: `${options.testid}-add` }, 'Add');
    const form = h(
      'form',
      { class: 'invite-form secret-form', testid: `${options.testid}-form`, novalidate: true },
      h('input', { name: 'name', type: 'text', placeholder: options.placeholder, pattern: NAME_PATTERN, 'aria-label': 'Name', autocomplete: 'off', spellcheck: 'false', testid: `${options.testid}-name` }),
      h('input', { name: 'value', type: 'password', autocomplete: 'new-password', placeholder: 'Value', 'aria-label': 'Value', testid: `${options.testid}-value` }),
      h('input', { name: 'description', type: 'text', placeholder: 'Description (optional)', 'aria-label': 'Description', testid: `${options.testid}-description` }),
      h('div', { class: 'invite-row' }, submit),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      const { name = '', value = '', description = '' } = formValues(form);
      if (!new RegExp(`^${NAME_PATTERN}$`).test(name)) return error.show('A name looks like an environment variable: capitals, digits and _, e.g. STRIPE_KEY.');
      if (!value) return error.show('Enter the value.');
      submit.disabled = true;
      try {
        const created = await api.create({ name, value, ...(description ? { description } : {}) });
        items = [...items, created].sort((a, b) => a.name.localeCompare(b.name));
        renderList();
        form.reset();
      } catch (err) {
        error.show(err);
      } finally {
        submit.disabled = false;
      }
    });
    replace(formSlot, form);
  };

  const reload = async () => {
    try {
      items = (await api.list()).items;
      renderList();
    } catch (err) {
      error.show(err);
    }
  };

  renderForm();
  return {
    el: h(
      'section',
      { class: 'panel-section', testid: options.testid },
      h('h3', { class: 'section-title' }, options.title),
      h('p', { class: 'muted secret-hint' }, options.hint),
      list,
      formSlot,
      error.el,
    ),
    reload,
    refreshPermissions: () => {
      renderForm();
      renderList();
    },
  };
}

export interface SecretsPanel {
  el: HTMLElement;
  reload(): Promise<void>;
  setProject(project: Project): void;
}

export function secretsPanel(initial: Project): SecretsPanel {
  let project = initial;
  const projectSection = secretsSection({
    title: 'Project secrets',
    hint: 'Environment variables of every command, terminal and agent command in the sandbox (for members who may execute). Shown as [secret:NAME] in output.',
    base: `/projects/${encodeURIComponent(project.id)}/secrets`,
    testid: 'project-secrets',
    canEdit: () => project.permissions.includes('write'),
    placeholder: 'NAME, e.g. STRIPE_KEY',
  });
  const mineSection = secretsSection({
    title: 'Your secrets',
    hint: 'Yours alone, in every project: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL are used by your agent runs before the server’s own.',
    base: '/me/secrets',
    testid: 'my-secrets',
    canEdit: () => true,
    placeholder: 'e.g. ANTHROPIC_API_KEY',
  });
  return {
    el: h('div', { class: 'secrets-panel', testid: 'secrets-panel' }, projectSection.el, mineSection.el),
    reload: async () => {
      await Promise.all([projectSection.reload(), mineSection.reload()]);
    },
    setProject(next) {
      const changed = next.permissions.join() !== project.permissions.join();
      project = next;
      if (changed) projectSection.refreshPermissions();
    },
  };
}
