/**
 * The one live connection of a tab, to /api/v1/ws, multiplexed: project channels (their events), agent
 * runs' event streams, and any other message type (terminals) through `send` and `on`. It reconnects with
 * backoff, notices a dead link by heartbeat, and after a reconnect subscribes again, resuming each channel
 * after the last seq it saw so that nothing is missed or doubled.
 */
import type { ProjectEvent as ApiProjectEvent } from '../../lib/api-types';
import { freshAccessToken } from './api';
import type { RunEvent } from './workspace/runs-api';

export type ProjectEvent = ApiProjectEvent;
export type Actor = NonNullable<ApiProjectEvent['actor']>;

export type LiveState = 'connecting' | 'live' | 'offline' | 'closed';

export interface ProjectStreamHandlers {
  /** `history`: the event happened before this tab subscribed (the recent past, shown once on opening). */
  onEvent(event: ProjectEvent, meta: { history: boolean }): void;
  onState(state: LiveState, detail?: string): void;
  /** Events were lost (the tab was away longer than the server keeps them): reload what is shown. */
  onResync?(): void;
  /** The server ended the subscription (project deleted, access removed). */
  onUnsubscribed?(reason: string | undefined): void;
}

export type ServerMessage = { type: string; [key: string]: unknown };

const PING_EVERY_MS = 20_000;
/** No answer to a ping for this long: the link is dead even if the socket has not noticed. */
const PONG_WITHIN_MS = 10_000;
const MAX_BACKOFF_MS = 15_000;
/** A socket nobody listens to any more closes after this (a route change re-subscribes in between). */
const IDLE_CLOSE_MS = 5_000;
/** How many past events a project's first subscription shows (the activity panel's history). */
const HISTORY = 100;
/** Numbers seen beyond a gap that does not fill: past this, the gap is given up (the server lost those events). */
const MAX_AHEAD = 1000;

interface ProjectChannel {
  handlers: Set<ProjectStreamHandlers>;
  /** Every event up to this number has been handed over: a resume asks for what comes after it. */
  lastSeq: number | undefined;
  /** Numbers handed over beyond `lastSeq` (another instance's event can overtake an earlier one). */
  ahead: Set<number>;
  /** Ids of events without a number (published while the log was unavailable). */
  seen: Set<string>;
  live: boolean;
}

interface RunChannel {
  projectId: string;
  after: number;
  onEvent(event: RunEvent): void;
  onError?(message: string): void;
}

class LiveSocket {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: number | undefined;
  private pingTimer: number | undefined;
  private pongTimer: number | undefined;
  private idleTimer: number | undefined;
  private readonly projects = new Map<string, ProjectChannel>();
  private readonly runs = new Map<string, RunChannel>();
  private readonly listeners = new Map<string, Set<(message: ServerMessage) => void>>();
  private readonly openListeners = new Set<() => void>();

  /** Subscribes to a project's events; returns the unsubscribe. */
  subscribeProject(projectId: string, handlers: ProjectStreamHandlers): () => void {
    let channel = this.projects.get(projectId);
    if (!channel) {
      channel = { handlers: new Set(), lastSeq: undefined, ahead: new Set(), seen: new Set(), live: false };
      this.projects.set(projectId, channel);
      this.sendSubscribe(projectId, channel);
    }
    channel.handlers.add(handlers);
    handlers.onState(channel.live ? 'live' : 'connecting');
    this.ensureOpen();
    return () => {
      const current = this.projects.get(projectId);
      if (!current) return;
      current.handlers.delete(handlers);
      if (current.handlers.size > 0) return;
      this.projects.delete(projectId);
      this.send({ type: 'unsubscribe', projectId });
      this.closeWhenIdle();
    };
  }

  /** Follows a run's events after `after` (and again from the last one seen after a reconnect). */
  subscribeRun(projectId: string, runId: string, after: number, onEvent: (event: RunEvent) => void, onError?: (message: string) => void): () => void {
    const channel: RunChannel = { projectId, after, onEvent, ...(onError ? { onError } : {}) };
    this.runs.set(runId, channel);
    this.sendRunSubscribe(runId, channel);
    this.ensureOpen();
    return () => {
      if (this.runs.get(runId) !== channel) return;
      this.runs.delete(runId);
      this.send({ type: 'run.unsubscribe', runId });
      this.closeWhenIdle();
    };
  }

  /** Sends a message if the socket is open; false otherwise (callers re-send from `onOpen`). */
  send(message: { type: string; [key: string]: unknown }): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Messages of one type (for services with their own protocol, such as terminals). */
  on(type: string, listener: (message: ServerMessage) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    this.ensureOpen();
    return () => {
      set.delete(listener);
      this.closeWhenIdle();
    };
  }

  /** Runs on every (re)connection, so a channel of one's own can be set up again. */
  onOpen(listener: () => void): () => void {
    this.openListeners.add(listener);
    if (this.socket?.readyState === WebSocket.OPEN) listener();
    this.ensureOpen();
    return () => {
      this.openListeners.delete(listener);
      this.closeWhenIdle();
    };
  }

  /** Drops the connection now (tests of resuming; a person's "reconnect"): it comes back by itself. */
  dropConnection(): void {
    this.socket?.close(4000, 'dropped');
  }

  private busy(): boolean {
    let listening = 0;
    for (const set of this.listeners.values()) listening += set.size;
    return this.projects.size + this.runs.size + listening + this.openListeners.size > 0;
  }

  private closeWhenIdle(): void {
    window.clearTimeout(this.idleTimer);
    this.idleTimer = window.setTimeout(() => {
      if (this.busy()) return;
      const socket = this.socket;
      this.socket = null;
      window.clearTimeout(this.retryTimer);
      this.stopHeartbeat();
      socket?.close(1000);
    }, IDLE_CLOSE_MS);
  }

  private ensureOpen(): void {
    window.clearTimeout(this.idleTimer);
    if (this.socket || this.retryTimer !== undefined) return;
    void this.connect();
  }

  private setState(state: LiveState, detail?: string): void {
    for (const channel of this.projects.values()) {
      if (state !== 'live') channel.live = false;
      for (const handlers of channel.handlers) handlers.onState(state, detail);
    }
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (!this.busy()) return;
    this.setState('connecting');
    let token: string;
    try {
      token = await freshAccessToken();
    } catch {
      this.setState('closed', 'Signed out');
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws?token=${encodeURIComponent(token)}`);
    this.socket = ws;
    ws.addEventListener('open', () => {
      for (const [projectId, channel] of this.projects) this.sendSubscribe(projectId, channel);
      for (const [runId, channel] of this.runs) this.sendRunSubscribe(runId, channel);
      for (const listener of this.openListeners) listener();
      this.startHeartbeat(ws);
    });
    ws.addEventListener('message', (message) => {
      let data: ServerMessage;
      try {
        data = JSON.parse(String(message.data)) as ServerMessage;
      } catch {
        return;
      }
      this.dispatch(data);
    });
    ws.addEventListener('close', () => {
      if (this.socket !== ws) return;
      this.socket = null;
      this.stopHeartbeat();
      if (!this.busy()) return;
      this.setState('offline');
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
      this.attempt += 1;
      this.retryTimer = window.setTimeout(() => void this.connect(), delay);
    });
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    this.pingTimer = window.setInterval(() => {
      ws.send(JSON.stringify({ type: 'ping' }));
      window.clearTimeout(this.pongTimer);
      this.pongTimer = window.setTimeout(() => ws.close(4001, 'no heartbeat'), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  private stopHeartbeat(): void {
    window.clearInterval(this.pingTimer);
    window.clearTimeout(this.pongTimer);
  }

  private sendSubscribe(projectId: string, channel: ProjectChannel): void {
    const message: { type: string; [key: string]: unknown } = { type: 'subscribe', id: `project:${projectId}`, projectId };
    if (channel.lastSeq !== undefined) message.after = channel.lastSeq;
    else message.history = HISTORY;
    this.send(message);
  }

  private sendRunSubscribe(runId: string, channel: RunChannel): void {
    this.send({ type: 'run.subscribe', id: `run:${runId}`, projectId: channel.projectId, runId, after: channel.after });
  }

  /** Replays after a reconnect may overlap what was seen, and numbers may arrive out of order: each event is handed over once. */
  private firstTime(channel: ProjectChannel, event: ProjectEvent): boolean {
    if (typeof event.seq !== 'number') {
      if (channel.seen.has(event.id)) return false;
      channel.seen.add(event.id);
      if (channel.seen.size > 2000) channel.seen.delete(channel.seen.values().next().value!);
      return true;
    }
    channel.lastSeq ??= event.seq - 1;
    if (event.seq <= channel.lastSeq || channel.ahead.has(event.seq)) return false;
    channel.ahead.add(event.seq);
    if (channel.ahead.size > MAX_AHEAD) channel.lastSeq = Math.min(...channel.ahead) - 1;
    while (channel.ahead.delete(channel.lastSeq + 1)) channel.lastSeq += 1;
    return true;
  }

  private dispatch(data: ServerMessage): void {
    switch (data.type) {
      case 'pong':
        window.clearTimeout(this.pongTimer);
        return;
      case 'subscribed': {
        const channel = this.projects.get(String(data.projectId));
        if (!channel) return;
        this.attempt = 0;
        channel.live = true;
        // The server says up to where this subscription starts: what the tab has seen, or (first time, or after
        // a gap) where its replay begins.
        if (typeof data.seq === 'number' && (channel.lastSeq === undefined || data.gap === true)) {
          channel.lastSeq = data.seq;
          channel.ahead.clear();
        }
        for (const handlers of channel.handlers) handlers.onState('live');
        if (data.gap === true) for (const handlers of channel.handlers) handlers.onResync?.();
        return;
      }
      case 'event': {
        const event = data.event as ProjectEvent;
        const channel = this.projects.get(event.projectId);
        if (!channel || !this.firstTime(channel, event)) return;
        const meta = { history: data.history === true };
        for (const handlers of channel.handlers) handlers.onEvent(event, meta);
        return;
      }
      case 'unsubscribed': {
        const projectId = String(data.projectId);
        const channel = this.projects.get(projectId);
        if (!channel) return;
        this.projects.delete(projectId);
        const reason = typeof data.reason === 'string' ? data.reason : undefined;
        for (const handlers of channel.handlers) {
          handlers.onState('closed', reason);
          handlers.onUnsubscribed?.(reason);
        }
        return;
      }
      case 'run.event': {
        const channel = this.runs.get(String(data.runId));
        const event = data.event as RunEvent;
        if (!channel || event.seq <= channel.after) return;
        channel.after = event.seq;
        channel.onEvent(event);
        return;
      }
      case 'error': {
        const replyTo = typeof data.replyTo === 'string' ? data.replyTo : '';
        const message = String(data.message ?? data.code);
        if (replyTo.startsWith('project:')) {
          // A refused subscription (no access, unknown project) will not get better by retrying.
          const projectId = replyTo.slice('project:'.length);
          const channel = this.projects.get(projectId);
          this.projects.delete(projectId);
          for (const handlers of channel?.handlers ?? []) handlers.onState('closed', message);
        } else if (replyTo.startsWith('run:')) {
          this.runs.get(replyTo.slice('run:'.length))?.onError?.(message);
        }
        break;
      }
    }
    for (const listener of this.listeners.get(data.type) ?? []) listener(data);
    for (const listener of this.listeners.get(ANY) ?? []) listener(data);
  }
}

/** Listens to every message type (`LiveSocket.on(ANY, ...)`). */
const ANY = '*';

/** Another protocol over the same socket (a terminal): send, receive everything, know when a (re)connection is live. */
export interface RealtimeChannel {
  /** Sends when connected; false when not (send again once `onConnected` runs). */
  send(message: { type: string; [key: string]: unknown }): boolean;
  onMessage(handler: (message: ServerMessage) => void): () => void;
  /** Runs on every (re)connection once it is live, and at once when it is live now. */
  onConnected(handler: () => void): () => void;
}

/** The tab's connection seen as a channel of its own. */
export function realtimeChannel(): RealtimeChannel {
  const socket = liveSocket();
  return {
    send: (message) => socket.send(message),
    onMessage: (handler) => socket.on(ANY, handler),
    onConnected: (handler) => socket.onOpen(handler),
  };
}

let shared: LiveSocket | undefined;

/** The tab's connection (opened on first use). */
export function liveSocket(): LiveSocket {
  shared ??= new LiveSocket();
  return shared;
}

export function openProjectStream(projectId: string, handlers: ProjectStreamHandlers): { close(): void } {
  const stop = liveSocket().subscribeProject(projectId, handlers);
  return { close: stop };
}
