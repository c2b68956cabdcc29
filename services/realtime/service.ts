/**
 * Realtime: one WebSocket per browser tab, multiplexing everything live. A client subscribes to the
 * projects it may read and receives their events; other services add message types (a terminal, a
 * streaming exec) with `handle`.
 */
import type { WebSocket } from 'ws';
import type { Principal } from '../../lib/access.js';
import { AppError } from '../../lib/errors.js';
import type { BusEvent, EventBus, Unsubscribe } from '../../lib/event-bus.js';
import { MAX_REPLAY } from './event-log.js';

/** Messages the server sends. */
export type ServerMessage =
  | { type: 'subscribed'; projectId: string; seq?: number; gap?: boolean }
  | { type: 'unsubscribed'; projectId: string; reason?: string }
  | { type: 'event'; event: BusEvent; history?: boolean }
  | { type: 'error'; code: string; message: string; replyTo?: string }
  | { type: 'pong' }
  | { type: string; [key: string]: unknown };

export interface ClientMessage {
  type: string;
  /** Echoed in an error about this message, so the client can match them. */
  id?: string;
  [key: string]: unknown;
}

export interface Connection {
  readonly principal: Principal;
  send(message: ServerMessage): void;
  /** Bytes queued for the client and not yet sent: a stream (a terminal) pauses its source while this is high. */
  readonly bufferedAmount: number;
  /** Runs when the socket closes: handlers release what they hold for this connection. */
  onClose(cleanup: () => void): void;
}

export type MessageHandler = (connection: Connection, message: ClientMessage) => Promise<void> | void;

/** The project event log as the realtime service reads it (event-log.ts). */
export interface EventReplay {
  after(projectId: string, after: number, limit: number): Promise<BusEvent[]>;
  latest(projectId: string, limit: number): Promise<BusEvent[]>;
  lastSeq(projectId: string): Promise<number>;
}

export interface RealtimeDeps {
  bus: EventBus;
  log: EventReplay;
  /** Throws unless the principal may read the project (the projects service's access check). */
  canRead: (principal: Principal, projectId: string) => Promise<void>;
  /** Throws once the principal's credential no longer holds (revoked API key, signed-out session, deleted account). */
  checkPrincipal: (principal: Principal) => Promise<void>;
  /** How old a socket's access check may grow: re-checked this often, and before delivering on an older one. */
  recheckMs: number;
  onError: (err: unknown) => void;
}

/** A client that cannot keep up is disconnected rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_SUBSCRIPTIONS = 100;
/** The most past events a subscription asks to see first (`history`). */
export const MAX_HISTORY = 200;
/** The close code of a socket whose credential no longer holds (1008: policy violation); the reason is the error code. */
export const CLOSE_ACCESS_ENDED = 1008;

/** One project subscription of a socket: recorded before anything is awaited, so a duplicate or a close sees it. */
interface Subscription {
  /** Settles once access is checked and the bus delivers (or fails with the reason it never will). */
  ready: Promise<void>;
  /** Set when the bus subscription is live. */
  stop: Unsubscribe | undefined;
  /** Unsubscribed or closed: nothing more is delivered, and a late bus subscription is undone. */
  ended: boolean;
}

export class RealtimeService {
  private readonly handlers = new Map<string, MessageHandler>();

  constructor(private readonly deps: RealtimeDeps) {
    this.handle('ping', (connection) => connection.send({ type: 'pong' }));
  }

  /** Registers the handler of one client message type. */
  handle(type: string, handler: MessageHandler): void {
    if (this.handlers.has(type)) throw new Error(`realtime message type "${type}" is handled twice`);
    this.handlers.set(type, handler);
  }

  /** Throws (an AppError) unless the principal's credential still holds: checked before a socket opens. */
  admit(principal: Principal): Promise<void> {
    return this.deps.checkPrincipal(principal);
  }

  /** Serves one authenticated socket until it closes. */
  attach(socket: WebSocket, principal: Principal): void {
    const cleanups: Array<() => void> = [];
    const subscriptions = new Map<string, Subscription>();
    let closed = false;

    const connection: Connection = {
      principal,
      send: (message) => {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          socket.close(1013, 'client too slow');
          return;
        }
        socket.send(JSON.stringify(message));
      },
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      onClose: (cleanup) => cleanups.push(cleanup),
    };

    const end = (subscription: Subscription) => {
      subscription.ended = true;
      subscription.stop?.();
    };

    const unsubscribe = (projectId: string, reason?: string) => {
      const subscription = subscriptions.get(projectId);
      if (!subscription) return false;
      subscriptions.delete(projectId);
      end(subscription);
      connection.send(reason ? { type: 'unsubscribed', projectId, reason } : { type: 'unsubscribed', projectId });
      return true;
    };

    // Access is re-checked on use: periodically, and before an event is delivered on a check older than
    // `recheckMs`. A credential that no longer holds closes the socket; a project no longer readable is unsubscribed.
    let checkedAt = Date.now();
    let checking: Promise<void> | undefined;
    const recheck = (): Promise<void> => {
      checking ??= (async () => {
        try {
          await this.deps.checkPrincipal(principal);
        } catch (err) {
          if (!(err instanceof AppError)) return this.deps.onError(err);
          connection.send({ type: 'error', code: err.code, message: err.message });
          socket.close(CLOSE_ACCESS_ENDED, err.code);
          return;
        }
        await Promise.all(
          [...subscriptions].map(async ([projectId, subscription]) => {
            try {
              await this.deps.canRead(principal, projectId);
            } catch (err) {
              if (!(err instanceof AppError)) return this.deps.onError(err);
              if (subscriptions.get(projectId) === subscription) unsubscribe(projectId, err.code);
            }
          }),
        );
      })().finally(() => {
        checkedAt = Date.now();
        checking = undefined;
      });
      return checking;
    };
    const recheckTimer = setInterval(() => void recheck(), this.deps.recheckMs);
    recheckTimer.unref();

    // Deliveries wait, in order, behind a re-check when the last one is too old.
    let deliveries = Promise.resolve();
    const inOrder = (send: () => void) => {
      deliveries = deliveries.then(async () => {
        if (Date.now() - checkedAt >= this.deps.recheckMs) await recheck();
        if (!closed) send();
      });
    };
    /** `replayed`: from the log, access was checked after it (so it cannot end access); `history`: from before the subscription. */
    const deliver = (subscription: Subscription, event: BusEvent, replayed?: { history: boolean }) =>
      inOrder(() => {
        if (subscription.ended) return;
        connection.send(replayed?.history ? { type: 'event', event, history: true } : { type: 'event', event });
        if (replayed) return;
        // Someone who loses access stops receiving at once.
        const removedUser = event.type === 'member.removed' && (event.data as { userId?: string }).userId;
        if (event.type === 'project.deleted' || removedUser === principal.userId) {
          if (subscriptions.get(event.projectId) === subscription) unsubscribe(event.projectId, event.type);
        }
      });

    /**
     * The bus subscription and the log read overlap: live events wait while the log is read, then those the
     * replay already held are dropped. Replies, in order: `subscribed` with the seq the client has seen up to,
     * then the events after it. `gap` says events were lost in between (too far behind, or pruned).
     */
    const start = async (projectId: string, subscription: Subscription, after: number | undefined, history: number) => {
      let waiting: BusEvent[] | null = [];
      // The highest seq the replay held: an event logged before the read but published after it arrives live too.
      let replayed = Infinity;
      const stop = await this.deps.bus.subscribe(projectId, (event) => {
        if (waiting) waiting.push(event);
        else if (event.seq === undefined || event.seq > replayed) deliver(subscription, event);
      });
      // Unsubscribed, or the socket closed, while the bus was subscribing.
      if (subscription.ended) return stop();
      subscription.stop = stop;
      let replay: BusEvent[] = [];
      let seq: number;
      let gap = false;
      try {
        if (after !== undefined) {
          replay = await this.deps.log.after(projectId, after, MAX_REPLAY + 1);
          if (replay.length > MAX_REPLAY) replay = await this.deps.log.latest(projectId, MAX_REPLAY);
          const last = replay.length > 0 ? undefined : await this.deps.log.lastSeq(projectId);
          gap = replay.length > 0 ? replay[0]!.seq !== after + 1 : last! < after;
          seq = gap ? (replay.length > 0 ? replay[0]!.seq! - 1 : last!) : after;
        } else {
          const last = await this.deps.log.lastSeq(projectId);
          replay = history > 0 ? await this.deps.log.latest(projectId, history) : [];
          seq = replay.length > 0 ? replay[0]!.seq! - 1 : last;
        }
      } catch (err) {
        waiting = null;
        throw err;
      }
      replayed = replay.at(-1)?.seq ?? 0;
      const live = waiting.filter((event) => event.seq === undefined || event.seq > replayed);
      waiting = null;
      inOrder(() => {
        if (!subscription.ended) connection.send(gap ? { type: 'subscribed', projectId, seq, gap } : { type: 'subscribed', projectId, seq });
      });
      for (const event of replay) deliver(subscription, event, { history: after === undefined });
      for (const event of live) deliver(subscription, event);
    };

    const subscribe = async (message: ClientMessage) => {
      const projectId = message.projectId;
      if (typeof projectId !== 'string') throw new AppError('VALIDATION_FAILED', 'subscribe needs a projectId');
      const { after, history = 0 } = message;
      if (after !== undefined && !(Number.isSafeInteger(after) && (after as number) >= 0)) {
        throw new AppError('VALIDATION_FAILED', '"after" is the seq of the last event seen: an integer ≥ 0');
      }
      if (!(Number.isInteger(history) && (history as number) >= 0 && (history as number) <= MAX_HISTORY)) {
        throw new AppError('VALIDATION_FAILED', `"history" is how many past events to send first: 0 to ${MAX_HISTORY}`);
      }
      const existing = subscriptions.get(projectId);
      if (existing) {
        // A second subscribe of the same project answers once the first is settled, with its outcome.
        await existing.ready;
        if (!existing.ended) inOrder(() => connection.send({ type: 'subscribed', projectId }));
        return;
      }
      if (subscriptions.size >= MAX_SUBSCRIPTIONS) {
        throw new AppError('RATE_LIMITED', `At most ${MAX_SUBSCRIPTIONS} projects per connection`);
      }
      const created: Subscription = { ready: Promise.resolve(), stop: undefined, ended: false };
      created.ready = (async () => {
        await this.deps.canRead(principal, projectId);
        if (!created.ended) await start(projectId, created, after as number | undefined, history as number);
      })();
      subscriptions.set(projectId, created);
      created.ready.catch(() => {
        if (subscriptions.get(projectId) === created) subscriptions.delete(projectId);
        end(created);
      });
      await created.ready;
    };

    socket.on('message', (raw, isBinary) => {
      let message: ClientMessage;
      try {
        if (isBinary) throw new Error('binary');
        message = JSON.parse(raw.toString()) as ClientMessage;
        if (typeof message !== 'object' || message === null || typeof message.type !== 'string') throw new Error();
      } catch {
        connection.send({ type: 'error', code: 'MALFORMED_JSON', message: 'Messages are JSON objects with a "type"' });
        return;
      }
      const run = async () => {
        if (message.type === 'subscribe') return subscribe(message);
        if (message.type === 'unsubscribe') {
          if (typeof message.projectId === 'string') unsubscribe(message.projectId);
          return;
        }
        const handler = this.handlers.get(message.type);
        if (!handler) throw new AppError('VALIDATION_FAILED', `Unknown message type "${message.type}"`);
        return handler(connection, message);
      };
      run().catch((err: unknown) => {
        const error =
          err instanceof AppError ? err : new AppError('INTERNAL', 'Something went wrong on our side');
        if (!(err instanceof AppError)) this.deps.onError(err);
        connection.send({
          type: 'error',
          code: error.code,
          message: error.message,
          ...(typeof message.id === 'string' ? { replyTo: message.id } : {}),
        });
      });
    });

    socket.on('close', () => {
      closed = true;
      clearInterval(recheckTimer);
      for (const subscription of subscriptions.values()) end(subscription);
      subscriptions.clear();
      for (const cleanup of cleanups) {
        try {
          cleanup();
        } catch (err) {
          this.deps.onError(err);
        }
      }
    });
  }
}
