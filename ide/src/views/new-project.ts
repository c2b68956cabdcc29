/**
 * The project wizard: basics, stack, a starter template, and a first message to the agent. Then it shows
 * its progress (project created, sandbox started, template written, agent started) and opens the project.
 */
import { projects, type Project, type ProjectServices, type Stack } from '../api';
import { openDialog } from '../dialog';
import { formValues, h, replace } from '../dom';
import { PROJECT_SERVICES, STACK_LABELS } from '../format';
import { runsApi } from '../workspace/runs-api';
import { sandboxApi } from '../workspace/sandbox-api';
import { applyTemplate, TEMPLATES, type TemplateId } from '../workspace/templates';
import { errorBox, errorMessage, field } from './forms';

const STACK_BLURBS: Record<Stack, string> = {
  node: 'TypeScript on Node.js: web apps and APIs.',
  python: 'Python services, scripts and data apps.',
  go: 'Fast, small Go services and tools.',
};

const STEPS = ['Basics', 'Stack', 'Template', 'Agent'];

type Progress = 'pending' | 'active' | 'done' | 'failed' | 'skipped';

export function openNewProjectDialog(onCreated: (project: Project) => void): void {
  const draft = {
    name: '',
    description: '',
    stack: 'node' as Stack,
    services: { postgres: false, redis: false } as ProjectServices,
    template: 'empty' as TemplateId,
    message: '',
  };
  const body = h('div', { class: 'wizard' });
  const steps = h('ol', { class: 'wizard-steps' });
  const error = errorBox('new-project-error');
  let created: Project | null = null;

  const showSteps = (active: number) =>
    replace(
      steps,
      ...STEPS.map((label, i) =>
        h('li', { class: i === active ? 'active' : i < active ? 'done' : '' }, h('span', { class: 'step-index' }, i + 1), label),
      ),
    );

  const actions = (back: (() => void) | null, next: HTMLElement) =>
    h(
      'footer',
      { class: 'dialog-actions' },
      back
        ? h('button', { type: 'button', class: 'btn btn-ghost', testid: 'new-project-back', onclick: back }, 'Back')
        : h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => handle.close(), testid: 'new-project-cancel' }, 'Cancel'),
      next,
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
      actions(null, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'new-project-next' }, 'Next')),
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
      ...PROJECT_SERVICES.map((service) =>
        h(
          'label',
          { class: 'stack-option service-option' },
          h('input', { type: 'checkbox', name: service.name, checked: draft.services[service.name], testid: `service-${service.name}` }),
          h(
            'span',
            { class: 'stack-option-body' },
            h('strong', {}, service.offer),
            h('span', {}, `Run beside the sandbox for this project alone; its commands get ${service.variable}.`),
          ),
        ),
      ),
      error.el,
      actions(basics, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'new-project-next' }, 'Next')),
    );
    form.addEventListener('change', () => {
      draft.stack = (formValues(form).stack as Stack | undefined) ?? draft.stack;
      for (const service of PROJECT_SERVICES) {
        draft.services[service.name] = (form.querySelector(`input[name="${service.name}"]`) as HTMLInputElement).checked;
      }
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      template();
    });
    replace(body, steps, form);
  };

  const template = () => {
    showSteps(2);
    error.clear();
    const offered = TEMPLATES.filter((t) => t.stacks.includes(draft.stack));
    if (!offered.some((t) => t.id === draft.template)) draft.template = 'empty';
    const form = h(
      'form',
      { class: 'form', testid: 'new-project-template' },
      h(
        'fieldset',
        { class: 'stack-options' },
        h('legend', { class: 'field-label' }, `Start from (${STACK_LABELS[draft.stack]})`),
        ...offered.map((t) =>
          h(
            'label',
            { class: 'stack-option' },
            h('input', { type: 'radio', name: 'template', value: t.id, checked: draft.template === t.id, testid: `template-${t.id}` }),
            h('span', { class: 'stack-option-body' }, h('strong', {}, t.label), h('span', {}, t.blurb)),
          ),
        ),
      ),
      actions(stack, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'new-project-next' }, 'Next')),
    );
    form.addEventListener('change', () => {
      draft.template = (formValues(form).template as TemplateId | undefined) ?? draft.template;
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      agent();
    });
    replace(body, steps, form);
  };

  const agent = () => {
    showSteps(3);
    error.clear();
    const suggestion = TEMPLATES.find((t) => t.id === draft.template)?.suggestion ?? '';
    const message = h(
      'textarea',
      {
        name: 'message',
        rows: 5,
        maxlength: 20000,
        testid: 'new-project-message',
        placeholder: suggestion || `Describe what to build, e.g. “${draft.description || 'A to-do app with due dates and reminders'}”. Leave empty to start without the agent.`,
      },
      draft.message,
    );
    const create = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'new-project-create' }, 'Create project');
    const form = h(
      'form',
      { class: 'form', testid: 'new-project-agent' },
      field('First message to the agent', message, 'The agent starts on it as soon as the sandbox is ready. Optional.'),
      suggestion
        ? h('button', { type: 'button', class: 'link-button small', testid: 'use-suggestion', onclick: () => ((message.value = suggestion), message.focus()) }, 'Use the suggestion')
        : null,
      error.el,
      actions(template, create),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      draft.message = message.value.trim();
      void build();
    });
    replace(body, steps, form);
    message.focus();
  };

  const build = async () => {
    const labels: Array<[string, string]> = [
      ['project', 'Creating the project'],
      ['sandbox', 'Starting its sandbox'],
      ['template', draft.template === 'empty' ? 'No template to write' : 'Writing the template'],
      ['run', draft.message ? 'Starting the agent' : 'No first message for the agent'],
    ];
    const items = new Map<string, HTMLElement>();
    const list = h(
      'ol',
      { class: 'progress-list', testid: 'new-project-progress' },
      ...labels.map(([id, label]) => {
        const item = h('li', { class: 'progress-item', 'data-step': id, 'data-state': 'pending' }, h('span', { class: 'progress-mark', 'aria-hidden': 'true' }), label);
        items.set(id, item);
        return item;
      }),
    );
    const footer = h('footer', { class: 'dialog-actions' });
    replace(body, h('p', { class: 'muted' }, `Setting up ${draft.name}…`), list, error.el, footer);
    const mark = (id: string, state: Progress) => items.get(id)!.setAttribute('data-state', state);

    const step = async (id: string, work: () => Promise<unknown>): Promise<boolean> => {
      mark(id, 'active');
      try {
        await work();
        mark(id, 'done');
        return true;
      } catch (err) {
        mark(id, 'failed');
        error.show(errorMessage(err));
        return false;
      }
    };

    const open = (project: Project) => {
      created = null;
      handle.close();
      onCreated(project);
      location.hash = `/projects/${project.id}`;
    };

    const ok = await step('project', async () => {
      const input = {
        name: draft.name,
        stack: draft.stack,
        ...(draft.description ? { description: draft.description } : {}),
        ...(draft.services.postgres || draft.services.redis ? { services: draft.services } : {}),
      };
      created = await projects.create(input);
    });
    if (!ok || !created) {
      replace(footer, h('button', { type: 'button', class: 'btn btn-ghost', testid: 'new-project-back', onclick: () => agent() }, 'Back'));
      return;
    }
    const project: Project = created;
    const rest =
      (await step('sandbox', () => sandboxApi.start(project.id))) &&
      (draft.template === 'empty' ? (mark('template', 'skipped'), true) : await step('template', () => applyTemplate(draft.template, project))) &&
      (!draft.message ? (mark('run', 'skipped'), true) : await step('run', () => runsApi.start(project.id, draft.message)));
    if (rest) {
      open(project);
      return;
    }
    // The project exists: whatever failed can be done again from the workbench.
    replace(footer, h('button', { type: 'button', class: 'btn btn-primary', testid: 'new-project-open', onclick: () => open(project) }, 'Open the project'));
  };

  const handle = openDialog({
    title: 'New project',
    testid: 'new-project-dialog',
    body: [body],
    onClose: () => {
      // Closed half-way (Escape during setup): the project exists, so the list shows it.
      if (created) onCreated(created);
    },
  });
  basics();
}
