/** The projects screen: everything the user is a member of, a way to start a new one, and delete. */
import { projects, type Project } from '../api';
import { confirmDialog } from '../dialog';
import { h, replace } from '../dom';
import { fullDate, STACK_LABELS, timeAgo } from '../format';
import { projectPath } from '../router';
import { openNewProjectDialog } from './new-project';
import { errorBox } from './forms';
import { appShell } from './shell';

export function mountProjects(root: HTMLElement): () => void {
  let disposed = false;
  const list = h('div', { class: 'project-list', testid: 'project-list', 'aria-busy': 'true' });
  const error = errorBox('projects-error');
  const more = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true, testid: 'projects-more' }, 'Load more');
  let items: Project[] = [];
  let cursor: string | null = null;

  const newProject = () =>
    openNewProjectDialog((project) => {
      items = [project, ...items.filter((p) => p.id !== project.id)];
      render();
    });

  const render = () => {
    list.removeAttribute('aria-busy');
    more.hidden = !cursor;
    if (items.length === 0) {
      replace(
        list,
        h(
          'div',
          { class: 'empty', testid: 'projects-empty' },
          h('h2', {}, 'No projects yet'),
          h('p', {}, 'Create a project and an isolated sandbox comes with it.'),
          h('button', { type: 'button', class: 'btn btn-primary', onclick: newProject }, 'New project'),
        ),
      );
      return;
    }
    replace(
      list,
      h(
        'div',
        { class: 'project-row project-row-head', 'aria-hidden': 'true' },
        h('span', {}, 'Name'),
        h('span', {}, 'Stack'),
        h('span', {}, 'Your role'),
        h('span', {}, 'Updated'),
        h('span', {}),
      ),
      ...items.map(row),
    );
  };

  const row = (project: Project) =>
    h(
      'div',
      { class: 'project-row', testid: 'project-row', 'data-project-id': project.id },
      h(
        'a',
        { class: 'project-name', href: '#' + projectPath(project.id), testid: 'project-link' },
        h('strong', {}, project.name),
        project.description ? h('span', { class: 'muted' }, project.description) : null,
      ),
      h('span', {}, h('span', { class: `badge badge-${project.stack}`, testid: 'project-stack' }, STACK_LABELS[project.stack] ?? project.stack)),
      h('span', { class: 'muted', testid: 'project-role' }, project.role),
      h('span', { class: 'muted', title: fullDate(project.updatedAt) }, timeAgo(project.updatedAt)),
      h(
        'span',
        { class: 'row-actions' },
        project.role === 'owner'
          ? h(
              'button',
              { type: 'button', class: 'btn btn-ghost btn-small btn-danger-text', testid: 'project-delete', onclick: () => remove(project) },
              'Delete',
            )
          : null,
      ),
    );

  const remove = async (project: Project) => {
    const ok = await confirmDialog({
      title: `Delete ${project.name}?`,
      message: 'The project, its members and its sandbox are removed for everyone. This cannot be undone.',
      confirmLabel: 'Delete project',
      danger: true,
    });
    if (!ok) return;
    error.clear();
    try {
      await projects.remove(project.id);
      items = items.filter((p) => p.id !== project.id);
      render();
    } catch (err) {
      error.show(err);
    }
  };

  const load = async (append: boolean) => {
    error.clear();
    try {
      const page = await projects.list(append ? (cursor ?? undefined) : undefined);
      if (disposed) return;
      items = append ? [...items, ...page.items] : page.items;
      cursor = page.nextCursor;
      render();
    } catch (err) {
      if (!disposed) error.show(err);
    }
  };
  more.addEventListener('click', () => void load(true));

  const content = h(
    'main',
    { class: 'page', testid: 'projects-screen' },
    h(
      'div',
      { class: 'page-header' },
      h('div', {}, h('h1', {}, 'Projects'), h('p', { class: 'muted' }, 'Apps you build alone or with others.')),
      h('button', { type: 'button', class: 'btn btn-primary', testid: 'new-project', onclick: newProject }, 'New project'),
    ),
    error.el,
    list,
    more,
  );
  replace(root, appShell([h('span', {}, 'Projects')], content));
  void load(false);
  return () => {
    disposed = true;
  };
}
