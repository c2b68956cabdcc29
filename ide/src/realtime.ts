/**
 * The live connection to /api/v1/ws: subscribes to a project and hands its events to the page. It
 * reconnects with backoff and subscribes again, since a laptop lid or a server restart must not end the
 * stream; events published while disconnected are not replayed (the page reloads what it shows instead).
 */
import { freshAccessToken } from './api';

export interface Actor {
  kind: 'user' | 'apiKey' | 'agent' | 'system' | 'sandbox';
  id?: string;
}

export interface ProjectEvent {
  id: string;
  projectId: string;
  type: string;
  at: string;
  actor?: Actor;
  data: unknown;
}

export type LiveState = 'connecting' | 'live' | 'offline' | 'closed';

export interface ProjectStreamHandlers {
  onEvent(event: ProjectEvent): void;
  onState(state: LiveState, detail?: string): void;
  /** The server ended the subscription (project deleted, access removed). */
  onUnsubscribed?(reason: string | undefined): void;
}

export interface ServerMessage {
  type: string;
  [key: string]: unknown;
}

/** Other message types over the same socket (a terminal): send, receive, and know when a (re)connection is live. */
export interface RealtimeChannel {
  /** Sends when connected; false when not (send again once `onConnected` runs). */
  send(message: { type: string; [key: string]: unknown }): boolean;
  /** Every message from the server; returns the function that stops it. */
  onMessage(handler: (message: ServerMessage) => void): () => void;
  /** Runs on every (re)connection once it is live, and at once when it is live now; returns the stopper. */
  onConnected(handler: () => void): () => void;
}

const PING_EVERY_MS = 25_000;
const MAX_BACKOFF_MS = 15_000;

export function openProjectStream(projectId: string, handlers: ProjectStreamHandlers): { close(): void } & RealtimeChannel {
  let socket: WebSocket | null = null;
  let closed = false;
  let live = false;
  let attempt = 0;
  let retryTimer: number | undefined;
  let pingTimer: number | undefined;
  const messageHandlers = new Set<(message: ServerMessage) => void>();
  const connectedHandlers = new Set<() => void>();

  const connect = async () => {
    if (closed) return;
    handlers.onState('connecting');
    let token: string;
    try {
      token = await freshAccessToken();
    } catch {
      handlers.onState('closed', 'Signed out');
      return;
    }
    if (closed) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', projectId }));
      pingTimer = window.setInterval(() => ws.send(JSON.stringify({ type: 'ping' })), PING_EVERY_MS);
    });
    ws.addEventListener('message', (message) => {
      let data: { type?: string; [key: string]: unknown };
      try {
        data = JSON.parse(String(message.data)) as typeof data;
      } catch {
        return;
      }
      if (typeof data.type === 'string') for (const handler of [...messageHandlers]) handler(data as ServerMessage);
      if (data.type === 'subscribed' && data.projectId === projectId) {
        attempt = 0;
        live = true;
        handlers.onState('live');
        for (const handler of [...connectedHandlers]) handler();
      } else if (data.type === 'event') {
        const event = data.event as ProjectEvent;
        if (event.projectId === projectId) handlers.onEvent(event);
      } else if (data.type === 'unsubscribed' && data.projectId === projectId) {
        closed = true;
        ws.close(1000);
        handlers.onState('closed', typeof data.reason === 'string' ? data.reason : undefined);
        handlers.onUnsubscribed?.(typeof data.reason === 'string' ? data.reason : undefined);
      } else if (data.type === 'error' && !live) {
        // A refused subscription (no access, unknown project) will not get better by retrying. Errors once live
        // answer other messages (a terminal's), whose owners handle them.
        closed = true;
        ws.close(1000);
        handlers.onState('closed', String(data.message ?? data.code));
      }
    });
    ws.addEventListener('close', () => {
      live = false;
      window.clearInterval(pingTimer);
      if (socket === ws) socket = null;
      if (closed) return;
      handlers.onState('offline');
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
      attempt += 1;
      retryTimer = window.setTimeout(() => void connect(), delay);
    });
  };

  void connect();
  return {
    send(message) {
      if (!live || !socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
    onMessage(handler) {
      messageHandlers.add(handler);
      return () => messageHandlers.delete(handler);
    },
    onConnected(handler) {
      connectedHandlers.add(handler);
      if (live) handler();
      return () => connectedHandlers.delete(handler);
    },
    close() {
      closed = true;
      window.clearTimeout(retryTimer);
      window.clearInterval(pingTimer);
      socket?.close(1000);
    },
  };
}
