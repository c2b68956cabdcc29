/**
 * The preview: the app running in the sandbox, framed from its own origin (never the IDE's). While nothing
 * listens on the preview port it says so and looks again every few seconds; it reloads when files change
 * (debounced), and collects the errors the app reports through the preview bridge so they can go to the
 * agent.
 */
import { h, replace } from '../dom';
import { clip } from '../format';
import { errorMessage } from '../views/forms';
import { sandboxApi, type Preview, type PreviewServing } from './sandbox-api';

export interface PreviewError {
  kind: string;
  message: string;
  url?: string;
}

export interface PreviewPanel {
  el: HTMLElement;
  /** The panel became visible or hidden: it only polls and loads while shown. */
  setVisible(visible: boolean): void;
  reload(): void;
  filesChanged(): void;
  dispose(): void;
}

interface PreviewOptions {
  port: number;
  /** The person asked to hand these errors to the agent. */
  sendErrors(errors: PreviewError[]): void;
}

const POLL_WAITING_MS = 2000;
const POLL_LIVE_MS = 5000;
const RELOAD_AFTER_CHANGE_MS = 700;
const AUTO_SEND_KEY = 'vaporform.preview.autoSendErrors';

type State = 'idle' | 'waiting' | 'live' | 'error';

export function previewPanel(projectId: string, options: PreviewOptions): PreviewPanel {
  let preview: Preview | null = null;
  let serving: PreviewServing | null = null;
  let state: State = 'idle';
  let visible = false;
  let pollTimer: number | undefined;
  let reloadTimer: number | undefined;
  let errors: PreviewError[] = [];
  let autoSend = localStorage.getItem(AUTO_SEND_KEY) === '1';
  let autoSendTimer: number | undefined;

  const frame = h('iframe', {
    class: 'preview-frame',
    title: 'Preview of the app',
    testid: 'preview-frame',
    sandbox: 'allow-scripts allow-forms allow-same-origin allow-popups allow-modals allow-downloads',
    referrerpolicy: 'no-referrer',
    hidden: true,
  });
  const address = h('span', { class: 'preview-address', testid: 'preview-address' }, 'Preview');
  const server = h('span', { class: 'preview-server', testid: 'preview-process', hidden: true });
  const openTab = h('a', { class: 'btn btn-ghost btn-small', target: '_blank', rel: 'noopener noreferrer', testid: 'preview-open-tab', href: '#', 'aria-disabled': 'true' }, 'Open in new tab ↗');
  const waiting = h('div', { class: 'preview-waiting', testid: 'preview-waiting' });
  const errorBar = h('div', { class: 'preview-errors', testid: 'preview-errors', hidden: true });

  const setState = (next: State, message?: string) => {
    state = next;
    el.dataset.state = next;
    frame.hidden = next !== 'live';
    waiting.hidden = next === 'live';
    if (next === 'waiting') {
      replace(
        waiting,
        h('div', { class: 'spinner', 'aria-hidden': 'true' }),
        h('p', {}, `Nothing is listening on port ${serving?.port ?? preview?.port ?? options.port} in the sandbox yet.`),
        h('p', { class: 'muted small' }, 'Start your app there (ask the agent, or run it in the terminal). This panel looks again every few seconds.'),
      );
    } else if (next === 'error') {
      replace(waiting, h('p', {}, 'The preview is not available.'), h('p', { class: 'muted small' }, message ?? ''));
    } else if (next === 'idle') {
      replace(waiting, h('p', { class: 'muted' }, 'Opening the preview…'));
    }
  };

  /** Says which process serves the preview (and where it came from), beside the address. */
  const showServer = (serving: PreviewServing | null) => {
    const process = serving?.listening ? serving.process : null;
    server.hidden = !process;
    if (!process) return;
    const origin = process.processId ? 'a background process' : process.pid ? `pid ${process.pid}` : 'the sandbox';
    server.textContent = `${clip(process.command, 48)} · :${serving!.port}`;
    server.title = `Served by “${process.command}” (${origin}) on port ${serving!.port} in the sandbox`;
  };

  const poll = async () => {
    window.clearTimeout(pollTimer);
    if (!visible) return;
    try {
      preview ??= await sandboxApi.preview(projectId);
      address.textContent = preview.url.replace(/^https?:\/\//, '').replace(/\/$/, '');
      openTab.href = preview.url;
      openTab.removeAttribute('aria-disabled');
      // What listens (the sandbox may not say: then the frame shows what the preview answers).
      serving = await sandboxApi.previewStatus(projectId);
      showServer(serving);
      const up = serving.listening !== false;
      if (up && state !== 'live') {
        setState('live');
        frame.src = preview.url;
      } else if (!up && state !== 'waiting') {
        setState('waiting');
        frame.removeAttribute('src');
      }
    } catch (err) {
      setState('error', errorMessage(err));
    }
    if (visible) pollTimer = window.setTimeout(() => void poll(), state === 'live' ? POLL_LIVE_MS : POLL_WAITING_MS);
  };

  const reload = () => {
    if (!preview) return void poll();
    errors = [];
    renderErrors();
    if (state === 'live') frame.src = preview.url;
    else void poll();
  };

  const renderErrors = () => {
    errorBar.hidden = errors.length === 0;
    if (errors.length === 0) return;
    replace(
      errorBar,
      h('span', { class: 'error-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'preview-error-text', title: errors.map((e) => e.message).join('\n') }, `${errors.length} error${errors.length === 1 ? '' : 's'} in the app: ${errors[0]!.message.split('\n')[0]}`),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-primary',
          testid: 'preview-send-errors',
          onclick: () => {
            options.sendErrors(errors);
            errors = [];
            renderErrors();
          },
        },
        'Ask the agent to fix',
      ),
    );
  };

  const onMessage = (event: MessageEvent) => {
    if (!preview || event.origin !== preview.origin || event.source !== frame.contentWindow) return;
    const data = event.data as { type?: string; kind?: string; message?: string; url?: string } | null;
    if (data?.type !== 'vaporform.preview.error' || typeof data.message !== 'string') return;
    errors.push({ kind: String(data.kind ?? 'error'), message: data.message, ...(data.url ? { url: data.url } : {}) });
    if (errors.length > 20) errors.shift();
    renderErrors();
    if (autoSend) {
      window.clearTimeout(autoSendTimer);
      autoSendTimer = window.setTimeout(() => {
        if (errors.length === 0) return;
        options.sendErrors(errors);
        errors = [];
        renderErrors();
      }, 1500);
    }
  };
  window.addEventListener('message', onMessage);

  const autoToggle = h('input', { type: 'checkbox', checked: autoSend, testid: 'preview-auto-send' });
  autoToggle.addEventListener('change', () => {
    autoSend = autoToggle.checked;
    localStorage.setItem(AUTO_SEND_KEY, autoSend ? '1' : '0');
  });

  const el = h(
    'section',
    { class: 'preview', testid: 'preview-panel', 'data-state': 'idle' },
    h(
      'div',
      { class: 'preview-toolbar' },
      h('button', { type: 'button', class: 'icon-button', title: 'Reload', 'aria-label': 'Reload the preview', testid: 'preview-reload', onclick: () => reload() }, '↻'),
      address,
      server,
      h('label', { class: 'small muted auto-send', title: 'Send errors from the running app to the agent automatically' }, autoToggle, ' auto-fix errors'),
      openTab,
    ),
    errorBar,
    h('div', { class: 'preview-body' }, waiting, frame),
  );
  setState('idle');

  return {
    el,
    setVisible(next) {
      visible = next;
      if (visible) void poll();
      else window.clearTimeout(pollTimer);
    },
    reload,
    filesChanged() {
      if (state !== 'live') return;
      window.clearTimeout(reloadTimer);
      reloadTimer = window.setTimeout(() => preview && (frame.src = preview.url), RELOAD_AFTER_CHANGE_MS);
    },
    dispose() {
      window.clearTimeout(pollTimer);
      window.clearTimeout(reloadTimer);
      window.clearTimeout(autoSendTimer);
      window.removeEventListener('message', onMessage);
    },
  };
}
