/**
 * The project workbench: the explorer on the left; the editor (or the preview) in the middle with the
 * terminal below it; the agent chat, live activity and the team on the right; the sandbox's state in the
 * header. Everything follows the project's live channel.
 */
import { ApiError, projects, type Project } from '../api';
import { h, replace } from '../dom';
import { PROJECT_SERVICES, STACK_LABELS } from '../format';
import { openProjectStream } from '../realtime';
import { getSession } from '../session';
import { chatPanel } from '../workspace/chat';
import { editorArea } from '../workspace/editor';
import { fileTree } from '../workspace/file-tree';
import type { FileChange } from '../workspace/files-api';
import { showPalette, type PaletteItem } from '../workspace/palette';
import { previewPanel, type PreviewError } from '../workspace/preview';
import type { Run } from '../workspace/runs-api';
import { sandboxStatus } from '../workspace/sandbox-status';
import { terminalSlot } from '../workspace/terminal-slot';
import { activityPanel, type Names } from './activity';
import { errorMessage } from './forms';
import { membersPanel } from './members';
import { secretsPanel } from './secrets';
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

type CenterView = 'code' | 'preview';
type RightView = 'chat' | 'activity' | 'team' | 'secrets';

function workbench(content: HTMLElement, crumbName: HTMLElement, initial: Project, selfId: string): () => void {
  let project = initial;
  const projectId = project.id;
  const can = (permission: string) => project.permissions.includes(permission as Project['permissions'][number]);
  const canWrite = can('write');
  const canExecute = can('execute');

  const header = h('header', { class: 'project-header', testid: 'project-header' });
  const banner = h('div', { class: 'alert alert-warning', role: 'status', hidden: true, testid: 'project-banner' });
  const toasts = h('div', { class: 'toasts', 'aria-live': 'polite', testid: 'toasts' });

  const notify = (message: string, kind: 'error' | 'info' = 'info') => {
    const toast = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', testid: 'toast' }, message);
    toasts.append(toast);
    window.setTimeout(() => toast.remove(), kind === 'error' ? 8000 : 3500);
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
  const secrets = secretsPanel(project);

  const editor = editorArea(projectId, { canWrite, notify });
  const tree = fileTree(projectId, {
    canWrite,
    notify,
    open: (path) => void editor.open(path).catch((err: unknown) => notify(`Could not open ${path}: ${errorMessage(err)}`, 'error')),
    onUnavailable: () => {},
  });
  editor.onActiveChange((path) => tree.reveal(path));

  const chat = chatPanel(projectId, {
    canWrite,
    notify,
    openFile: (path) => {
      showCenter('code');
      void editor.open(path).catch((err: unknown) => notify(`Could not open ${path}: ${errorMessage(err)}`, 'error'));
    },
    openDiff: (title, files) => {
      showCenter('code');
      void editor.openDiff(title, files);
    },
  });

  const preview = previewPanel(projectId, {
    port: project.previewPort ?? 3000,
    sendErrors: (errors: PreviewError[]) => {
      showRight('chat');
      const text = ['The running app reports these errors; please find the cause and fix it:', ...errors.map((e) => `- ${e.kind}: ${e.message}${e.url ? ` (at ${e.url})` : ''}`)].join('\n');
      void chat.send(text);
    },
  });

  const status = sandboxStatus(projectId, {
    canExecute,
    notify,
    onState: (state) => {
      if (state === 'running') void tree.reload();
    },
  });

  const terminal = terminalSlot(projectId);

  // Center: code or preview, the terminal below.
  let center: CenterView = 'code';
  const centerTabs = h('div', { class: 'view-switch', role: 'tablist', testid: 'center-tabs' });
  const codeView = h('div', { class: 'center-view' }, editor.el);
  const previewView = h('div', { class: 'center-view', hidden: true }, preview.el);
  const showCenter = (view: CenterView) => {
    center = view;
    codeView.hidden = view !== 'code';
    previewView.hidden = view !== 'preview';
    preview.setVisible(view === 'preview');
    replace(
      centerTabs,
      ...(
        [
          ['code', 'Code'],
          ['preview', 'Preview'],
        ] as const
      ).map(([id, label]) =>
        h('button', { type: 'button', role: 'tab', class: id === center ? 'tab active' : 'tab', 'aria-selected': String(id === center), testid: `center-tab-${id}`, onclick: () => showCenter(id) }, label),
      ),
    );
  };

  const terminalToggle = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'terminal-toggle', title: 'Toggle the terminal (Ctrl+`)', onclick: () => toggleTerminal() }, 'Terminal');
  const toggleTerminal = (show = terminal.el.hidden === true) => {
    terminal.el.hidden = !show;
    terminalToggle.classList.toggle('active', show);
    if (show) terminal.shown();
  };

  // Right: chat, activity, team.
  let right: RightView = 'chat';
  const rightTabs = h('div', { class: 'view-switch', role: 'tablist', testid: 'right-tabs' });
  const rightViews: Record<RightView, HTMLElement> = {
    chat: h('div', { class: 'right-view' }, chat.el),
    activity: h('div', { class: 'right-view', hidden: true }, activity.el),
    team: h('div', { class: 'right-view', hidden: true }, members.el),
    secrets: h('div', { class: 'right-view', hidden: true }, secrets.el),
  };
  const showRight = (view: RightView) => {
    right = view;
    if (view === 'secrets') void secrets.reload();
    for (const [id, el] of Object.entries(rightViews)) el.hidden = id !== view;
    replace(
      rightTabs,
      ...(
        [
          ['chat', 'Agent'],
          ['activity', 'Activity'],
          ['team', 'Team'],
          ['secrets', 'Secrets'],
        ] as const
      ).map(([id, label]) =>
        h('button', { type: 'button', role: 'tab', class: id === right ? 'tab active' : 'tab', 'aria-selected': String(id === right), testid: `right-tab-${id}`, onclick: () => showRight(id) }, label),
      ),
    );
  };

  const commands = (): PaletteItem[] => [
    { label: 'Go to file…', hint: 'Ctrl P', run: quickOpen },
    ...(canWrite
      ? [
          { label: 'Save', hint: 'Ctrl S', run: () => void editor.save() },
          { label: 'New file…', run: () => void tree.newFile() },
          { label: 'New folder…', run: () => void tree.newFolder() },
        ]
      : []),
    { label: 'Toggle terminal', hint: 'Ctrl `', run: () => toggleTerminal() },
    { label: 'Show code', run: () => showCenter('code') },
    { label: 'Show preview', run: () => showCenter('preview') },
    { label: 'Reload preview', run: () => preview.reload() },
    { label: 'Ask the agent…', run: () => (showRight('chat'), chat.focus()) },
    { label: 'Show activity', run: () => showRight('activity') },
    { label: 'Show team', run: () => showRight('team') },
    ...(canExecute
      ? [
          { label: 'Start sandbox', run: () => void status.start() },
          { label: 'Restart sandbox', run: () => void status.restart() },
        ]
      : []),
    ...(can('admin')
      ? [
          ...PROJECT_SERVICES.map((service) =>
            project.services?.[service.name]
              ? { label: `Turn off the project's ${service.title} (its data is kept)`, run: () => void setService(service, false) }
              : { label: `Turn on a ${service.title} for the app (${service.variable} in every command)`, run: () => void setService(service, true) },
          ),
        ]
      : []),
    { label: 'Refresh files', run: () => void tree.reload() },
  ];

  async function setService(service: (typeof PROJECT_SERVICES)[number], on: boolean): Promise<void> {
    try {
      project = { ...project, ...(await projects.update(project.id, { services: { [service.name]: on } })) };
      renderHeader();
      notify(on ? `${service.title} is on: commands started from now get ${service.variable}.` : `${service.title} is off; its data is kept.`);
    } catch (err) {
      notify(`Could not change the ${service.title}: ${errorMessage(err)}`, 'error');
    }
  }

  function quickOpen(): void {
    showPalette({
      placeholder: 'Go to file by name',
      testid: 'quick-open',
      items: tree.files().map((path) => ({
        label: path.split('/').pop()!,
        detail: path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '',
        run: () => {
          showCenter('code');
          void editor.open(path);
        },
      })),
    });
  }

  const onKey = (event: KeyboardEvent) => {
    const mod = event.ctrlKey || event.metaKey;
    if (!mod) return;
    const key = event.key.toLowerCase();
    if (key === 's' && !event.shiftKey) {
      event.preventDefault();
      event.stopPropagation();
      void editor.save();
    } else if (key === 'p' && event.shiftKey) {
      event.preventDefault();
      event.stopPropagation();
      showPalette({ placeholder: 'Type a command', testid: 'command-palette', items: commands() });
    } else if (key === 'p') {
      event.preventDefault();
      event.stopPropagation();
      quickOpen();
    } else if (event.code === 'Backquote' && event.ctrlKey) {
      event.preventDefault();
      event.stopPropagation();
      toggleTerminal();
    }
  };
  window.addEventListener('keydown', onKey, true);

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
        ...PROJECT_SERVICES.map((service) =>
          project.services?.[service.name]
            ? h(
                'span',
                { class: 'badge', testid: `project-${service.name}`, title: `A ${service.title} runs for this project: its commands get ${service.variable}` },
                service.title,
              )
            : null,
        ),
        project.status === 'archived' ? h('span', { class: 'badge' }, 'archived') : null,
        project.description ? h('span', { class: 'project-description muted', testid: 'project-description', title: project.description }, project.description) : null,
      ),
      h(
        'div',
        { class: 'project-actions' },
        status.el,
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-ghost btn-small',
            testid: 'open-palette',
            title: 'Command palette (Ctrl+Shift+P)',
            onclick: () => showPalette({ placeholder: 'Type a command', testid: 'command-palette', items: commands() }),
          },
          'Commands',
        ),
      ),
    );
  };

  const reloadProject = async () => {
    try {
      project = await projects.get(project.id);
      members.setProject(project);
      secrets.setProject(project);
      renderHeader();
    } catch {
      // A failed reload leaves the last good header; the activity entry still tells what happened.
    }
  };

  const stream = openProjectStream(project.id, {
    onEvent(event, { history }) {
      // The recent past, on opening: it is what the activity panel shows; the views read the present themselves.
      if (history) {
        if (event.type !== 'run.updated') activity.add(event, { fresh: false });
        return;
      }
      if (event.type !== 'run.updated') activity.add(event);
      if (event.type === 'project.updated') void reloadProject();
      if (event.type.startsWith('member.')) void members.reload().then(reloadProject);
      if (event.type === 'file.changed') {
        const change = event.data as FileChange;
        // The tree shows names, not sizes: only a file that appears, goes or moves changes it.
        if (change.kind !== 'modified') tree.changed();
        editor.fileChanged(change);
        preview.filesChanged();
      }
      if (event.type.startsWith('sandbox.')) status.changed((event.data as { state?: string } | null)?.state);
      if (event.type === 'run.created' || event.type === 'run.updated') {
        const run = (event.data as { run?: Run } | null)?.run;
        if (run) chat.runChanged(run);
      }
    },
    onState: (state, detail) => {
      activity.setState(state, detail);
      // Changes made while the link was down: the tree reads itself again.
      if (state === 'live') tree.changed();
    },
    // Events were lost while away (longer than the server keeps them): read again what they would have changed.
    onResync: () => {
      tree.changed();
      void reloadProject();
      status.changed();
    },
    onUnsubscribed(reason) {
      banner.hidden = false;
      banner.textContent = reason === 'project.deleted' ? 'This project was deleted.' : 'You no longer have access to this project.';
    },
  });

  renderHeader();
  showCenter('code');
  showRight('chat');
  void members.reload();
  void tree.reload();
  replace(
    content,
    h(
      'div',
      { class: 'workbench', testid: 'project-screen' },
      h('div', { class: 'workbench-top' }, header, banner),
      h('aside', { class: 'sidebar', 'aria-label': 'Files' }, tree.el),
      h(
        'section',
        { class: 'main-area', 'aria-label': 'Workspace' },
        h('div', { class: 'center-bar' }, centerTabs, h('div', { class: 'center-bar-actions' }, terminalToggle)),
        h('div', { class: 'center-body' }, codeView, previewView),
        terminal.el,
      ),
      h('aside', { class: 'right-panel', 'aria-label': 'Agent and activity' }, rightTabs, ...Object.values(rightViews)),
      toasts,
    ),
  );
  content.className = 'workbench-host';
  content.removeAttribute('data-testid');
  return () => {
    window.removeEventListener('keydown', onKey, true);
    stream.close();
    editor.dispose();
    chat.dispose();
    preview.dispose();
    status.dispose();
    terminal.dispose();
  };
}
