/** The sandbox's state in the project header: running/paused/stopped, CPU and memory, start and restart. */
import { h, replace } from '../dom';
import { errorMessage } from '../views/forms';
import { sandboxApi, type SandboxState, type SandboxStats } from './sandbox-api';

export interface SandboxStatusView {
  el: HTMLElement;
  /** A `sandbox.*` event arrived. */
  changed(state?: string): void;
  start(): Promise<void>;
  restart(): Promise<void>;
  state(): SandboxState | 'unknown';
  dispose(): void;
}

const STATS_EVERY_MS = 5000;
const LABELS: Record<SandboxState | 'unknown' | 'starting', string> = {
  absent: 'No sandbox',
  created: 'Created',
  running: 'Running',
  paused: 'Paused',
  stopped: 'Stopped',
  unknown: '…',
  starting: 'Starting…',
};

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

export function sandboxStatus(projectId: string, options: { canExecute: boolean; notify(message: string, kind?: 'error' | 'info'): void; onState(state: SandboxState): void }): SandboxStatusView {
  let state: SandboxState | 'unknown' = 'unknown';
  let busy: 'starting' | null = null;
  let stats: SandboxStats | null = null;
  let timer: number | undefined;
  let disposed = false;

  const el = h('div', { class: 'sandbox-status', testid: 'sandbox-status' });

  const render = () => {
    const shown = busy ?? state;
    el.dataset.state = shown;
    const running = state === 'running';
    replace(
      el,
      h('span', { class: `status-dot state-${shown}`, 'aria-hidden': 'true' }),
      h('span', { class: 'status-label', testid: 'sandbox-state' }, LABELS[shown]),
      running && stats
        ? h(
            'span',
            { class: 'status-stats muted small', testid: 'sandbox-stats', title: `${stats.pids} processes` },
            `CPU ${stats.cpuPercent.toFixed(0)}% · ${mib(stats.memoryBytes)} / ${mib(stats.memoryLimitBytes)}`,
          )
        : null,
      options.canExecute && !running && !busy
        ? h('button', { type: 'button', class: 'btn btn-small btn-primary', testid: 'sandbox-start', onclick: () => void start() }, state === 'paused' ? 'Resume' : 'Start')
        : null,
      options.canExecute && running && !busy
        ? h('button', { type: 'button', class: 'btn btn-small btn-ghost', testid: 'sandbox-restart', onclick: () => void restart() }, 'Restart')
        : null,
    );
  };

  const setState = (next: SandboxState) => {
    const was = state;
    state = next;
    render();
    if (was !== next) options.onState(next);
    schedule();
  };

  const refresh = async () => {
    try {
      setState((await sandboxApi.status(projectId)).state);
    } catch {
      // The header keeps the last known state; the next event or poll corrects it.
    }
  };

  const pollStats = async () => {
    if (disposed || state !== 'running' || document.hidden) return schedule();
    try {
      stats = await sandboxApi.stats(projectId);
    } catch {
      stats = null;
    }
    render();
    schedule();
  };

  const schedule = () => {
    window.clearTimeout(timer);
    if (!disposed && state === 'running') timer = window.setTimeout(() => void pollStats(), stats ? STATS_EVERY_MS : 200);
  };

  const lifecycle = async (call: () => Promise<{ state: SandboxState }>, what: string) => {
    busy = 'starting';
    render();
    try {
      const result = await call();
      busy = null;
      setState(result.state);
    } catch (err) {
      busy = null;
      render();
      options.notify(`Could not ${what} the sandbox: ${errorMessage(err)}`, 'error');
    }
  };

  const start = () => lifecycle(() => sandboxApi.start(projectId), 'start');
  const restart = () => lifecycle(() => sandboxApi.restart(projectId), 'restart');

  render();
  void refresh();
  return {
    el,
    changed(next) {
      if (next && next in LABELS) setState(next as SandboxState);
      else void refresh();
    },
    start,
    restart,
    state: () => state,
    dispose() {
      disposed = true;
      window.clearTimeout(timer);
    },
  };
}
