/** The "Live activity" panel: project events as they happen, newest first. */
import { h, replace } from '../dom';
import { clip, clockTime, fullDate } from '../format';
import type { Actor, LiveState, ProjectEvent } from '../realtime';

const MAX_EVENTS = 200;
const STATE_LABELS: Record<LiveState, string> = { connecting: 'Connecting…', live: 'Live', offline: 'Reconnecting…', closed: 'Stopped' };

export interface Names {
  actor(actor: Actor | undefined): string;
  user(userId: string | undefined): string;
}

export interface ActivityPanel {
  el: HTMLElement;
  /** `fresh: false` for the past replayed on opening: listed without the arrival animation. */
  add(event: ProjectEvent, options?: { fresh: boolean }): void;
  setState(state: LiveState, detail?: string): void;
  /** Names became known (members loaded): render again. */
  refresh(): void;
}

export function activityPanel(names: Names): ActivityPanel {
  const events: ProjectEvent[] = [];
  const status = h('span', { class: 'live-status', testid: 'activity-status', 'data-state': 'connecting' }, STATE_LABELS.connecting);
  const list = h('ol', { class: 'activity-list', testid: 'activity-list', 'aria-live': 'polite' });

  const item = (event: ProjectEvent, fresh: boolean) =>
    h(
      'li',
      { class: fresh ? 'activity-item fresh' : 'activity-item', testid: 'activity-item', 'data-event-type': event.type },
      h(
        'div',
        { class: 'activity-head' },
        h('span', { class: 'event-type', testid: 'activity-type' }, event.type),
        h('time', { class: 'muted', datetime: event.at, title: fullDate(event.at) }, clockTime(event.at)),
      ),
      h(
        'div',
        { class: 'activity-body' },
        h('span', { class: 'actor', testid: 'activity-actor' }, names.actor(event.actor)),
        ' ',
        summarize(event, names),
      ),
    );

  // A full render (names changed) does not animate; a new event slides in alone.
  const render = () => {
    if (events.length === 0) {
      replace(list, h('li', { class: 'activity-empty muted' }, 'Changes to this project by you, your team and its agents appear here as they happen.'));
      return;
    }
    replace(list, ...events.map((event) => item(event, false)));
  };

  render();
  return {
    el: h(
      'section',
      { class: 'panel-section activity', testid: 'activity-panel' },
      h('div', { class: 'section-header' }, h('h3', { class: 'section-title' }, 'Live activity'), status),
      list,
    ),
    add(event, options = { fresh: true }) {
      if (events.some((e) => e.id === event.id)) return;
      events.unshift(event);
      if (events.length === 1) list.replaceChildren();
      list.prepend(item(event, options.fresh));
      if (events.length > MAX_EVENTS) {
        events.length = MAX_EVENTS;
        list.lastElementChild?.remove();
      }
    },
    setState(state, detail) {
      status.dataset.state = state;
      status.textContent = STATE_LABELS[state];
      status.title = detail ?? '';
    },
    refresh: render,
  };
}

function summarize(event: ProjectEvent, names: Names): string {
  const data = (event.data ?? {}) as {
    changes?: Record<string, unknown>;
    userId?: string;
    role?: string;
    name?: string;
    path?: string;
    from?: string;
    kind?: string;
    process?: { command?: string; ports?: number[]; exitCode?: number | null };
    run?: { goal?: string; status?: string };
  };
  const command = data.process?.command ? `“${clip(data.process.command, 60)}”` : 'a process';
  switch (event.type) {
    case 'project.created':
      return `created the project${data.name ? ` “${data.name}”` : ''}`;
    case 'project.updated': {
      const fields = Object.keys(data.changes ?? {});
      return fields.length ? `changed ${fields.join(', ')}` : 'updated the project';
    }
    case 'project.deleted':
      return 'deleted the project';
    case 'member.added':
      return `added ${names.user(data.userId)}${data.role ? ` as ${data.role}` : ''}`;
    case 'member.updated':
      return `made ${names.user(data.userId)} ${data.role ?? 'a member'}`;
    case 'member.removed':
      return `removed ${names.user(data.userId)}`;
    case 'file.changed':
      if (data.kind === 'renamed') return `moved ${data.from ?? 'a file'} to ${data.path ?? '?'}`;
      return `${data.kind ?? 'changed'} ${data.path || 'the workspace'}`;
    case 'process.started':
      return `started ${command}`;
    case 'process.exited':
      return `${command} exited${typeof data.process?.exitCode === 'number' ? ` with code ${data.process.exitCode}` : ''}`;
    case 'process.ports':
      return `${command} listens on ${(data.process?.ports ?? []).map((port) => `:${port}`).join(', ') || 'no port'}`;
    case 'run.created':
      return `started an agent run${data.run?.goal ? `: “${clip(data.run.goal, 60)}”` : ''}`;
    default:
      if (event.type.startsWith('sandbox.')) return `sandbox ${event.type.slice('sandbox.'.length)}`;
      return '';
  }
}
