/**
 * The terminal panel: tabs of real shells in the project's sandbox (xterm.js over the realtime WebSocket, see
 * services/containers/terminal-stream.ts). Self-contained: give it an element and the project's realtime channel.
 * xterm and its add-ons load lazily, the first time a panel mounts. The shells outlive the socket: after a
 * reconnect (or a reload: this tab's terminal ids are kept in sessionStorage) each tab reattaches to its shell,
 * shows its recent output and continues; a new browser tab takes over the project's shells nobody is attached to.
 */
import type { FitAddon } from '@xterm/addon-fit';
import type { ITheme, Terminal } from '@xterm/xterm';
import { h, replace } from '../dom';
import { realtimeChannel, type RealtimeChannel, type ServerMessage } from '../realtime';

export interface TerminalPanelOptions {
  projectId: string;
  realtime: RealtimeChannel;
}

type Xterm = {
  Terminal: typeof Terminal;
  FitAddon: typeof FitAddon;
  WebLinksAddon: typeof import('@xterm/addon-web-links').WebLinksAddon;
};

let loading: Promise<Xterm> | undefined;

/** xterm, its add-ons and its stylesheet, fetched once. */
function loadXterm(): Promise<Xterm> {
  loading ??= Promise.all([
    import('@xterm/xterm'),
    import('@xterm/addon-fit'),
    import('@xterm/addon-web-links'),
    import('@xterm/xterm/css/xterm.css'),
  ]).then(([xterm, fit, links]) => ({ Terminal: xterm.Terminal, FitAddon: fit.FitAddon, WebLinksAddon: links.WebLinksAddon }));
  return loading;
}

const THEME: ITheme = {
  background: '#0b0e13',
  foreground: '#e4e8ef',
  cursor: '#9284ff',
  cursorAccent: '#0b0e13',
  selectionBackground: 'rgba(124, 108, 255, 0.35)',
  black: '#1b2230',
  red: '#f0616d',
  green: '#3ecf8e',
  yellow: '#e8b04b',
  blue: '#6ca7ff',
  magenta: '#b48cff',
  cyan: '#4fd1d9',
  white: '#c9d1dc',
  brightBlack: '#5b6678',
  brightRed: '#ff8a94',
  brightGreen: '#6ee7b0',
  brightYellow: '#ffd27a',
  brightBlue: '#94c0ff',
  brightMagenta: '#cdb0ff',
  brightCyan: '#86e8ee',
  brightWhite: '#ffffff',
};

const MAX_TABS = 8;
const MAX_QUEUED_INPUT = 4096;

type TabState = 'opening' | 'live' | 'exited' | 'gone';

interface Tab {
  key: number;
  terminalId: string | null;
  state: TabState;
  /** The id of the pending terminal.open, to match its answer. */
  request: string | null;
  term: Terminal;
  fit: FitAddon;
  host: HTMLElement;
  button: HTMLElement;
  /** A reattach after the agent dropped the connection is tried once. */
  retried: boolean;
  /** Input typed while not attached, sent once attached. */
  queued: string;
}

function storageKey(projectId: string): string {
  return `vf.terminals.${projectId}`;
}

function storedIds(projectId: string): string[] {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(storageKey(projectId)) ?? '[]');
    return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string' && /^[0-9a-f]{32}$/.test(id)) : [];
  } catch {
    return [];
  }
}

export function mountTerminals(container: HTMLElement, opts: TerminalPanelOptions): () => void {
  const { projectId, realtime } = opts;
  const tabs: Tab[] = [];
  let active: Tab | null = null;
  let disposed = false;
  let nextKey = 1;
  let requests = 0;
  let xterm: Xterm | null = null;

  const status = h('div', { class: 'terminal-status', role: 'status', testid: 'terminal-status', hidden: true });
  const tabList = h('div', { class: 'terminal-tabs', role: 'tablist', testid: 'terminal-tabs' });
  const newButton = h('button', { type: 'button', class: 'terminal-new', title: 'New terminal', 'aria-label': 'New terminal', testid: 'terminal-new' }, '+');
  const body = h('div', { class: 'terminal-body', testid: 'terminal-body' });
  const panel = h(
    'div',
    { class: 'terminal-shells', testid: 'terminal-shells' },
    h('div', { class: 'terminal-bar' }, tabList, newButton),
    status,
    body,
  );
  replace(container, panel);

  const showStatus = (text: string | null) => {
    status.hidden = text === null;
    status.textContent = text ?? '';
  };

  const remember = () => {
    const ids = tabs.filter((t) => t.terminalId && (t.state === 'live' || t.state === 'opening')).map((t) => t.terminalId!);
    sessionStorage.setItem(storageKey(projectId), JSON.stringify(ids));
  };

  const label = (tab: Tab) => `bash ${tab.key}${tab.state === 'exited' || tab.state === 'gone' ? ' (ended)' : ''}`;

  const renderTabs = () => {
    replace(
      tabList,
      ...tabs.map((tab) => {
        tab.button.className = tab === active ? 'terminal-tab active' : 'terminal-tab';
        tab.button.setAttribute('aria-selected', tab === active ? 'true' : 'false');
        tab.button.firstElementChild!.textContent = label(tab);
        return tab.button;
      }),
    );
    newButton.toggleAttribute('disabled', tabs.length >= MAX_TABS);
  };

  /** Fits the active terminal to the panel; the shell hears of a new size. */
  const fitActive = () => {
    if (!active || body.clientWidth === 0 || body.clientHeight === 0) return;
    active.fit.fit();
  };

  const select = (tab: Tab) => {
    active = tab;
    for (const other of tabs) other.host.hidden = other !== tab;
    renderTabs();
    fitActive();
    tab.term.focus();
  };

  const attach = (tab: Tab) => {
    const id = `term-${++requests}`;
    tab.request = id;
    tab.state = 'opening';
    const sent = realtime.send({
      type: 'terminal.open',
      id,
      projectId,
      cols: tab.term.cols,
      rows: tab.term.rows,
      ...(tab.terminalId ? { terminalId: tab.terminalId } : {}),
    });
    // Not connected: onConnected reattaches every tab that is still opening.
    if (!sent) tab.request = null;
  };

  const end = (tab: Tab, state: 'exited' | 'gone', note: string) => {
    tab.state = state;
    tab.request = null;
    tab.term.write(`\r\n\x1b[2m[${note}]\x1b[0m\r\n`);
    remember();
    renderTabs();
  };

  const create = (terminalId: string | null) => {
    if (!xterm || disposed) return;
    const term = new xterm.Terminal({
      theme: THEME,
      fontFamily: "'JetBrains Mono', 'SFMono-Regular', Menlo, Consolas, 'Liberation Mono', monospace",
      fontSize: 13,
      cursorBlink: true,
      scrollback: 5000,
      allowProposedApi: false,
    });
    const fit = new xterm.FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new xterm.WebLinksAddon((_event, uri) => window.open(uri, '_blank', 'noopener,noreferrer')));
    const host = h('div', { class: 'terminal-view', testid: 'terminal-view' });
    body.append(host);
    const key = nextKey++;
    const button = h(
      'div',
      { class: 'terminal-tab', role: 'tab', testid: 'terminal-tab' },
      h('span', { class: 'terminal-tab-label' }),
      h('button', { type: 'button', class: 'terminal-close', title: 'Close terminal', 'aria-label': 'Close terminal', testid: 'terminal-close' }, '×'),
    );
    const tab: Tab = { key, terminalId, state: 'opening', request: null, term, fit, host, button, retried: false, queued: '' };
    button.addEventListener('click', (event) => {
      if ((event.target as HTMLElement).closest('.terminal-close')) close(tab);
      else select(tab);
    });
    term.open(host);
    term.onData((data) => {
      const sent = tab.state === 'live' && tab.terminalId !== null && realtime.send({ type: 'terminal.input', terminalId: tab.terminalId, data });
      // Typed while the connection is down: kept (a little) for the shell once reattached.
      if (!sent && (tab.state === 'live' || tab.state === 'opening') && tab.queued.length + data.length <= MAX_QUEUED_INPUT) tab.queued += data;
    });
    term.onResize(({ cols, rows }) => {
      if (tab.state === 'live' && tab.terminalId) realtime.send({ type: 'terminal.resize', terminalId: tab.terminalId, cols, rows });
    });
    tabs.push(tab);
    select(tab);
    attach(tab);
  };

  const close = (tab: Tab) => {
    if (tab.terminalId && (tab.state === 'live' || tab.state === 'opening')) {
      realtime.send({ type: 'terminal.close', terminalId: tab.terminalId, projectId });
    }
    tab.state = 'gone';
    tab.term.dispose();
    tab.host.remove();
    tabs.splice(tabs.indexOf(tab), 1);
    remember();
    if (active === tab) {
      active = null;
      const next = tabs[tabs.length - 1];
      if (next) select(next);
    }
    renderTabs();
  };

  const byTerminal = (message: ServerMessage) => tabs.find((t) => t.terminalId !== null && t.terminalId === message.terminalId);

  const onMessage = (message: ServerMessage) => {
    if (message.type === 'terminal.opened') {
      const tab = tabs.find((t) => t.request !== null && t.request === message.id);
      if (!tab) return;
      tab.request = null;
      tab.terminalId = String(message.terminalId);
      tab.state = 'live';
      tab.retried = false;
      // The replay is the screen's recent past: drawn on a clean terminal, so a reattach never doubles it.
      tab.term.reset();
      if (typeof message.replay === 'string') tab.term.write(message.replay);
      showStatus(null);
      remember();
      renderTabs();
      if (tab === active) fitActive();
      if (tab.queued) {
        realtime.send({ type: 'terminal.input', terminalId: tab.terminalId, data: tab.queued });
        tab.queued = '';
      }
    } else if (message.type === 'terminal.output') {
      const tab = byTerminal(message);
      if (tab && tab.state === 'live' && typeof message.data === 'string') tab.term.write(message.data);
    } else if (message.type === 'terminal.exit') {
      const tab = byTerminal(message);
      if (tab && tab.state !== 'exited') end(tab, 'exited', `process exited with code ${String(message.exitCode)}`);
    } else if (message.type === 'terminal.detached') {
      const tab = byTerminal(message);
      if (!tab || message.reason === 'requested' || tab.state !== 'live') return;
      // The sandbox's agent dropped us (a restart, a slow moment): try the same shell once more.
      if (tab.retried) end(tab, 'gone', 'connection to the shell lost');
      else {
        tab.retried = true;
        attach(tab);
      }
    } else if (message.type === 'error') {
      const tab = tabs.find((t) => t.request !== null && t.request === message.replyTo);
      if (!tab) return;
      tab.request = null;
      if (message.code === 'TERMINAL_NOT_FOUND') end(tab, 'gone', 'this shell has ended');
      else {
        tab.state = 'gone';
        showStatus(String(message.message ?? message.code));
        if (!tab.terminalId) close(tab);
        else renderTabs();
      }
    }
  };

  const stopMessages = realtime.onMessage(onMessage);
  // Every (re)connection: the shells are still there, reattach each tab that was live or on its way.
  /**
   * The first tabs: this browser tab's shells (kept in sessionStorage); else the project's shells nobody is attached
   * to (another tab was closed; they hold places under the cap); else a new shell. Asking needs the connection.
   */
  let started = false;
  const listRequest = 'term-list';
  const start = () => {
    if (started || !xterm) return;
    const kept = storedIds(projectId);
    if (kept.length > 0) {
      started = true;
      for (const id of kept) create(id);
    } else if (realtime.send({ type: 'terminal.list', id: listRequest, projectId })) {
      started = true;
    }
  };
  const onListed = (message: ServerMessage) => {
    if (message.id !== listRequest && message.replyTo !== listRequest) return;
    const listed = message.type === 'terminal.listed' && Array.isArray(message.terminals) ? (message.terminals as unknown[]) : [];
    const free = listed
      .map((t) => t as { terminalId?: unknown; exited?: unknown; attached?: unknown })
      .filter((t) => typeof t.terminalId === 'string' && t.exited === false && t.attached === 0)
      .map((t) => t.terminalId as string)
      .slice(0, MAX_TABS);
    if (free.length === 0) create(null);
    else for (const id of free) create(id);
  };
  const stopListed = realtime.onMessage((message) => {
    if (message.type === 'terminal.listed' || message.type === 'error') onListed(message);
  });

  const stopConnected = realtime.onConnected(() => {
    for (const tab of tabs) if (tab.state === 'live' || tab.state === 'opening') attach(tab);
    start();
  });

  const resizeObserver = new ResizeObserver(() => fitActive());
  resizeObserver.observe(body);
  newButton.addEventListener('click', () => {
    if (tabs.length < MAX_TABS) create(null);
  });

  showStatus('Starting the terminal…');
  void loadXterm().then(
    (loaded) => {
      if (disposed) return;
      xterm = loaded;
      showStatus(null);
      start();
    },
    () => showStatus('The terminal could not be loaded; reload the page'),
  );

  return () => {
    disposed = true;
    stopMessages();
    stopListed();
    stopConnected();
    resizeObserver.disconnect();
    for (const tab of tabs) {
      if (tab.state === 'live' && tab.terminalId) realtime.send({ type: 'terminal.detach', terminalId: tab.terminalId });
      tab.term.dispose();
    }
    tabs.length = 0;
    panel.remove();
  };
}

/** The workbench's terminal slot mounts the panel with the tab's one connection. */
export function mountTerminalPanel(container: HTMLElement, projectId: string): () => void {
  return mountTerminals(container, { projectId, realtime: realtimeChannel() });
}
