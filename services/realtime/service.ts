/**
 * Realtime: one WebSocket per browser tab, multiplexing everything live. A client subscribes to the
 * projects it may read and receives their events; other services add message types (a terminal, a
 * streaming exec) with `handle`.
 */
import type { WebSocket } from 'ws';
import type { Principal } from '../../lib/access.js';
import { AppError } from '../../lib/errors.js';
import type { BusEvent, EventBus, Unsubscribe } from '../../lib/event-bus.js';

/** Messages the server sends. */
export type ServerMessage =
  | { type: 'subscribed'; projectId: string }
  | { type: 'unsubscribed'; projectId: string; reason?: string }
  | { type: 'event'; event: BusEvent }
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

export interface RealtimeDeps {
  bus: EventBus;
  /** Throws unless the principal may read the project (the projects service's access check). */
  canRead: (principal: Principal, projectId: string) => Promise<void>;
  onError: (err: unknown) => void;
}

/** A client that cannot keep up is disconnected rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_SUBSCRIPTIONS = 100;

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

  /** Serves one authenticated socket until it closes. */
  attach(socket: WebSocket, principal: Principal): void {
    const cleanups: Array<() => void> = [];
    const subscriptions = new Map<string, Promise<Unsubscribe>>();

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

    const unsubscribe = (projectId: string, reason?: string) => {
      const pending = subscriptions.get(projectId);
      if (!pending) return false;
      subscriptions.delete(projectId);
      pending.then((stop) => stop(), () => {});
      connection.send(reason ? { type: 'unsubscribed', projectId, reason } : { type: 'unsubscribed', projectId });
      return true;
    };

    const subscribe = async (message: ClientMessage) => {
      const projectId = message.projectId;
      if (typeof projectId !== 'string') throw new AppError('VALIDATION_FAILED', 'subscribe needs a projectId');
      if (subscriptions.has(projectId)) return connection.send({ type: 'subscribed', projectId });
      if (subscriptions.size >= MAX_SUBSCRIPTIONS) {
        throw new AppError('RATE_LIMITED', `At most ${MAX_SUBSCRIPTIONS} projects per connection`);
      }
      await this.deps.canRead(principal, projectId);
      const live = this.deps.bus.subscribe(projectId, (event) => {
        connection.send({ type: 'event', event });
        // Someone who loses access stops receiving at once.
        const removedUser = event.type === 'member.removed' && (event.data as { userId?: string }).userId;
        if (event.type === 'project.deleted' || removedUser === principal.userId) {
          unsubscribe(projectId, event.type);
        }
      });
      subscriptions.set(projectId, live);
      await live;
      connection.send({ type: 'subscribed', projectId });
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
      for (const projectId of [...subscriptions.keys()]) {
        subscriptions.get(projectId)!.then((stop) => stop(), () => {});
      }
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
