/**
 * Run events, live, in every API instance: the worker appends events to PostgreSQL and NOTIFYs; each instance
 * LISTENs and hands them to its subscribers. A subscriber starts after a seq and receives every later event
 * exactly once, in order: it listens before it reads what is stored, takes a notification as is only when it is
 * the very next event, and otherwise (a gap, a reference to a large event, a reconnect) reads the table.
 * Status changes also go on the project's bus as `run.updated`, published by exactly one instance.
 */
import type { Db, DbClient } from '../../../lib/db.js';
import { makeEvent, type EventBus } from '../../../lib/event-bus.js';
import * as store from './store.js';
import type { RunEvent } from './types.js';

interface Notification {
  runId: string;
  projectId: string;
  seq: number;
  type?: string;
  at?: string;
  data?: unknown;
}

type Listener = (notification: Notification | null) => void;

const PAGE = 500;
const RECONNECT_MS = 1000;

export class RunEventsHub {
  private client: DbClient | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly deps: { db: Db; bus: EventBus; onError: (err: unknown) => void }) {}

  /** Connects and listens; a lost connection is re-established and every subscriber catches up from the table. */
  start(): Promise<void> {
    this.connecting ??= this.connect();
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = await this.deps.db.connect();
    if (this.closed) {
      client.release();
      return;
    }
    client.on('notification', (message) => {
      if (message.channel !== store.RUN_EVENTS_CHANNEL || !message.payload) return;
      try {
        this.dispatch(JSON.parse(message.payload) as Notification);
      } catch (err) {
        this.deps.onError(err);
      }
    });
    client.on('error', (err) => {
      this.deps.onError(err);
      client.release(err);
      if (this.client === client) this.client = undefined;
      this.connecting = undefined;
      if (!this.closed) setTimeout(() => void this.start().then(() => this.resyncAll(), (e: unknown) => this.deps.onError(e)), RECONNECT_MS).unref();
    });
    await client.query(`LISTEN ${store.RUN_EVENTS_CHANNEL}`);
    this.client = client;
  }

  private dispatch(notification: Notification): void {
    for (const listener of this.listeners.get(notification.runId) ?? []) listener(notification);
    if (notification.type === 'run.status') void this.publishStatus(notification);
  }

  private resyncAll(): void {
    for (const set of this.listeners.values()) for (const listener of set) listener(null);
  }

  private async publishStatus(notification: Notification): Promise<void> {
    try {
      const row = await store.claimPublication(this.deps.db, notification.runId, notification.seq);
      if (!row) return;
      await this.deps.bus.publish(makeEvent(row.project_id, 'run.updated', { run: store.toRun(row) }, { kind: 'agent', id: row.id }));
    } catch (err) {
      this.deps.onError(err);
    }
  }

  /**
   * Delivers the run's events after `after`, then live ones, each once and in order, until the returned function
   * is called. Resolves once the stored events up to now are being sent.
   */
  async subscribe(runId: string, after: number, send: (event: RunEvent) => void): Promise<() => void> {
    await this.start();
    let last = after;
    let reading = false;
    let again = false;
    let stopped = false;
    const catchUp = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          const events = await store.eventsAfter(this.deps.db, runId, last, PAGE);
          for (const event of events) {
            if (stopped) return;
            send(event);
            last = event.seq;
          }
          if (events.length === PAGE) again = true;
        } while (again && !stopped);
      } catch (err) {
        this.deps.onError(err);
      } finally {
        reading = false;
      }
    };
    const listener: Listener = (notification) => {
      if (stopped) return;
      if (notification && notification.seq <= last) return;
      if (notification && !reading && notification.seq === last + 1 && notification.type !== undefined) {
        last = notification.seq;
        send({ seq: notification.seq, type: notification.type, at: new Date(notification.at!).toISOString(), data: notification.data });
        return;
      }
      void catchUp();
    };
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    await catchUp();
    return () => {
      stopped = true;
      const current = this.listeners.get(runId);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(runId);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => {});
    const client = this.client;
    this.client = undefined;
    if (client) {
      await client.query(`UNLISTEN ${store.RUN_EVENTS_CHANNEL}`).catch(() => {});
      client.release();
    }
  }
}
