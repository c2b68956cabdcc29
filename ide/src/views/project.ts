/**
 * The project workbench: header, a left sidebar (files later, members now), the main area where the
 * editor, terminal and preview will live, and the live activity on the right.
 */
import { ApiError, projects, type Project } from '../api';
import { h, replace } from '../dom';
import { STACK_LABELS } from '../format';
import { openProjectStream } from '../realtime';
import { getSession } from '../session';
import { activityPanel, type Names } from './activity';
import { errorMessage } from './forms';
import { membersPanel } from './members';
import { mountTerminals } from './terminal';
import { appShell } from './shell';

export function mountProject(root: HTMLElement, projectId: string): () => void {
  let disposed = false;
  let stop = () => {};
  const selfId = getSession()?.user.id ?? '';
  const content = h('main', { class: 'workbench-loading', testid: 'project-loading' }, h('p', { class: 'muted' }, 'Opening project…'));
  const crumbName = h('span', { testid: 'crumb-project' }, '…');
  replace(root, appShell([h('a', { href: '#/projects' }, 'Projects'), h('span', { class: 'crumb-sep' }, '/'), crumbName], content));

  void (async () => {
    let project: Project;
    try {
      project = await projects.get(projectId);
    } catch (err) {
      if (disposed) return;
      const missing = err instanceof ApiError && err.status === 404;
      replace(
        content,
        h(
          'div',
          { class: 'empty', testid: 'project-error' },
          h('h2', {}, missing ? 'Project not found' : 'Could not open the project'),
          h('p', { class: 'muted' }, missing ? 'It was deleted, or you are not a member.' : errorMessage(err)),
          h('a', { class: 'btn btn-ghost', href: '#/projects' }, 'Back to projects'),
        ),
      );
      return;
    }
    if (disposed) return;
    stop = workbench(content, crumbName, project, selfId);
  })();

  return () => {
    disposed = true;
    stop();
  };
}

function workbench(content: HTMLElement, crumbName: HTMLElement, initial: Project, selfId: string): () => void {
  let project = initial;
  const header = h('header', { class: 'project-header', testid: 'project-header' });
  const banner = h('div', { class: 'alert alert-warning', role: 'status', hidden: true, testid: 'project-banner' });

  const renderHeader = () => {
    crumbName.textContent = project.name;
    document.title = `${project.name} · Vaporform`;
    replace(
      header,
      h(
        'div',
        { class: 'project-title' },
        h('h1', { testid: 'project-name' }, project.name),
        h('span', { class: `badge badge-${project.stack}`, testid: 'project-stack' }, STACK_LABELS[project.stack] ?? project.stack),
        h('span', { class: 'badge badge-role', testid: 'project-role' }, project.role),
        project.status === 'archived' ? h('span', { class: 'badge' }, 'archived') : null,
      ),
      project.description ? h('p', { class: 'project-description muted', testid: 'project-description' }, project.description) : null,
    );
  };

  const names: Names = {
    user(userId) {
      if (!userId) return 'someone';
      if (userId === selfId) return 'you';
      const member = members.members().find((m) => m.userId === userId);
      return member ? member.name || member.email : 'a user';
    },
    actor(actor) {
      if (!actor) return 'Vaporform';
      if (actor.kind === 'user' || actor.kind === 'apiKey') {
        const name = names.user(actor.id);
        return actor.kind === 'apiKey' ? `${name} (API key)` : name === 'you' ? 'You' : name;
      }
      return { agent: 'Agent', system: 'Vaporform', sandbox: 'Sandbox' }[actor.kind] ?? actor.kind;
    },
  };

  const activity = activityPanel(names);
  const members = membersPanel(project, selfId, () => activity.refresh());

  const reloadProject = async () => {
    try {
      project = await projects.get(project.id);
      members.setProject(project);
      renderHeader();
    } catch {
      // A failed reload leaves the last good header; the activity entry still tells what happened.
    }
  };

  const stream = openProjectStream(project.id, {
    onEvent(event) {
      activity.add(event);
      if (event.type === 'project.updated') void reloadProject();
      if (event.type.startsWith('member.')) void members.reload().then(reloadProject);
    },
    onState: (state, detail) => activity.setState(state, detail),
    onUnsubscribed(reason) {
      banner.hidden = false;
      banner.textContent =
        reason === 'project.deleted' ? 'This project was deleted.' : 'You no longer have access to this project.';
    },
  });

  // The terminal panel (views/terminal.ts) in place of the placeholder until the workbench layout arrives.
  const placeholder = h(
    'div',
    { class: 'placeholder', testid: 'workspace-placeholder' },
    h('div', { class: 'placeholder-icon', 'aria-hidden': 'true' }, '{ }'),
    h('p', {}, 'Editor, terminal and preview arrive with the sandbox'),
  );
  let stopTerminals: (() => void) | undefined;
  function showTerminal(event: Event) {
    const tab = event.currentTarget as HTMLElement;
    for (const other of tab.parentElement?.children ?? []) other.classList.toggle('active', other === tab);
    if (stopTerminals) return;
    const host = h('div', { class: 'terminal-host' });
    placeholder.replaceWith(host);
    stopTerminals = mountTerminals(host, { projectId: project.id, realtime: stream });
  }

  renderHeader();
  void members.reload();
  replace(
    content,
    h(
      'div',
      { class: 'workbench', testid: 'project-screen' },
      h('div', { class: 'workbench-top' }, header, banner),
      h(
        'aside',
        { class: 'sidebar', 'aria-label': 'Project sidebar' },
        h(
          'section',
          { class: 'panel-section' },
          h('h3', { class: 'section-title' }, 'Explorer'),
          h('p', { class: 'muted small' }, 'Files appear here once the sandbox is running.'),
        ),
        members.el,
      ),
      h(
        'section',
        { class: 'main-area', 'aria-label': 'Workspace' },
        h(
          'div',
          { class: 'tabs', role: 'tablist' },
          ...['Editor', 'Terminal', 'Preview'].map((label, i) =>
            h('button', { type: 'button', role: 'tab', class: i === 0 ? 'tab active' : 'tab', disabled: label !== 'Terminal', 'aria-selected': i === 0 ? 'true' : 'false', testid: `tab-${label.toLowerCase()}`, onclick: label === 'Terminal' ? showTerminal : undefined }, label),
          ),
        ),
        placeholder,
      ),
      h('aside', { class: 'right-panel', 'aria-label': 'Activity' }, activity.el),
    ),
  );
  content.className = 'workbench-host';
  content.removeAttribute('data-testid');
  return () => {
    stopTerminals?.();
    stream.close();
  };
}
