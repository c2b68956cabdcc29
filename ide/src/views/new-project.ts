/**
 * "New project" as a two-step dialog (basics, then stack). It is the seed of the project wizard, which
 * will grow steps (a description for the agents, a template) without changing how it opens.
 */
import { projects, type Project, type Stack } from '../api';
import { openDialog } from '../dialog';
import { formValues, h, replace } from '../dom';
import { STACK_LABELS } from '../format';
import { errorBox, field } from './forms';

const STACK_BLURBS: Record<Stack, string> = {
  node: 'TypeScript on Node.js: web apps and APIs.',
  python: 'Python services, scripts and data apps.',
  go: 'Fast, small Go services and tools.',
};

export function openNewProjectDialog(onCreated: (project: Project) => void): void {
  const draft = { name: '', description: '', stack: 'node' as Stack };
  const body = h('div', { class: 'wizard' });
  const steps = h('ol', { class: 'wizard-steps' });
  const error = errorBox('new-project-error');

  const showSteps = (active: number) =>
    replace(
      steps,
      ...['Basics', 'Stack'].map((label, i) =>
        h('li', { class: i === active ? 'active' : i < active ? 'done' : '' }, h('span', { class: 'step-index' }, i + 1), label),
      ),
    );

  const basics = () => {
    showSteps(0);
    error.clear();
    const form = h(
      'form',
      { class: 'form', testid: 'new-project-basics', novalidate: true },
      field('Name', h('input', { name: 'name', maxlength: 100, required: true, value: draft.name, testid: 'new-project-name' })),
      field(
        'Description',
        h('textarea', { name: 'description', maxlength: 2000, rows: 3, testid: 'new-project-description', placeholder: 'What should it do? (optional)' }, draft.description),
      ),
      error.el,
      h(
        'footer',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => handle.close(), testid: 'new-project-cancel' }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary', testid: 'new-project-next' }, 'Next'),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const values = formValues(form);
      draft.name = values.name ?? '';
      draft.description = values.description ?? '';
      if (!draft.name) return error.show('Give the project a name.');
      stack();
    });
    replace(body, steps, form);
    form.querySelector('input')?.focus();
  };

  const stack = () => {
    showSteps(1);
    error.clear();
    const create = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'new-project-create' }, 'Create project');
    const form = h(
      'form',
      { class: 'form', testid: 'new-project-stack' },
      h(
        'fieldset',
        { class: 'stack-options' },
        h('legend', { class: 'field-label' }, 'Stack'),
        ...(['node', 'python', 'go'] as const).map((value) =>
          h(
            'label',
            { class: 'stack-option' },
            h('input', { type: 'radio', name: 'stack', value, checked: draft.stack === value, testid: `stack-${value}` }),
            h('span', { class: 'stack-option-body' }, h('strong', {}, STACK_LABELS[value]), h('span', {}, STACK_BLURBS[value])),
          ),
        ),
      ),
      error.el,
      h(
        'footer',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', testid: 'new-project-back', onclick: () => basics() }, 'Back'),
        create,
      ),
    );
    form.addEventListener('change', () => {
      draft.stack = (formValues(form).stack as Stack | undefined) ?? draft.stack;
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      create.disabled = true;
      create.textContent = 'Creating…';
      try {
        const input = { name: draft.name, stack: draft.stack, ...(draft.description ? { description: draft.description } : {}) };
        const project = await projects.create(input);
        handle.close();
        onCreated(project);
      } catch (err) {
        error.show(err);
        create.disabled = false;
        create.textContent = 'Create project';
      }
    });
    replace(body, steps, form);
  };

  const handle = openDialog({ title: 'New project', testid: 'new-project-dialog', body: [body] });
  basics();
}
