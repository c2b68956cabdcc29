/**
 * The event bus: how a change in one place (an API call, a tool run by an agent, a shell in a sandbox)
 * reaches every open IDE. In-process on one machine; Redis pub/sub when several API instances run.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export interface Actor {
  kind: 'user' | 'apiKey' | 'agent' | 'system' | 'sandbox';
  id?: string;
}

export interface BusEvent<T = unknown> {
  id: string;
  /** The event's number in its project's log (services/realtime/event-log.ts), where it was logged. */
  seq?: number;
  projectId: string;
  /** Dotted, past tense: `project.updated`, `file.changed`. */
  type: string;
  at: string;
  actor?: Actor;
  data: T;
}

export type EventHandler = (event: BusEvent) => void;
export type Unsubscribe = () => void;

/** Subscribe to one project's events, or to every project's with `ALL_PROJECTS`. */
export const ALL_PROJECTS = '*';

export interface EventBus {
  /** Never rejects: a publication that cannot be delivered is reported to the bus's error handler. */
  publish(event: BusEvent): Promise<void>;
  /** Resolves once the subscription is live: an event published after that is delivered. */
  subscribe(projectId: string, handler: EventHandler): Promise<Unsubscribe>;
  close(): Promise<void>;
}

export function makeEvent<T>(projectId: string, type: string, data: T, actor?: Actor): BusEvent<T> {
  const event: BusEvent<T> = { id: randomUUID(), projectId, type, at: new Date().toISOString(), data };
  if (actor) event.actor = actor;
  return event;
}

/** Local handlers: per project, and wildcard ones that see every project. Shared by both buses. */
class HandlerRegistry {
  private readonly byProject = new Map<string, Set<EventHandler>>();

  constructor(private readonly onHandlerError: (err: unknown, event: BusEvent) => void) {}

  /** Returns true when this is the first handler of the key (time to subscribe upstream). */
  add(key: string, handler: EventHandler): boolean {
    let set = this.byProject.get(key);
    const first = set === undefined;
    if (!set) this.byProject.set(key, (set = new Set()));
    set.add(handler);
    return first;
  }

  /** Returns true when the key has no handler left (time to unsubscribe upstream). */
  remove(key: string, handler: EventHandler): boolean {
    const set = this.byProject.get(key);
    if (!set?.delete(handler)) return false;
    if (set.size > 0) return false;
    this.byProject.delete(key);
    return true;
  }

  dispatch(key: string, event: BusEvent): void {
    for (const handler of this.byProject.get(key) ?? []) {
      try {
        handler(event);
      } catch (err) {
        this.onHandlerError(err, event);
      }
    }
  }
}

export class InProcessEventBus implements EventBus {
  private readonly handlers: HandlerRegistry;

  constructor(onHandlerError: (err: unknown, event: BusEvent) => void) {
    this.handlers = new HandlerRegistry(onHandlerError);
  }

  async publish(event: BusEvent): Promise<void> {
    // Delivered on a later tick, as Redis would: a publisher never runs subscribers inside its own call.
    queueMicrotask(() => {
      this.handlers.dispatch(event.projectId, event);
      this.handlers.dispatch(ALL_PROJECTS, event);
    });
  }

  async subscribe(projectId: string, handler: EventHandler): Promise<Unsubscribe> {
    this.handlers.add(projectId, handler);
    return () => void this.handlers.remove(projectId, handler);
  }

  async close(): Promise<void> {}
}

const CHANNEL_PREFIX = 'vf:events:';
const ALL_CHANNELS = CHANNEL_PREFIX + '*';

export class RedisEventBus implements EventBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers: HandlerRegistry;
  private readonly subscribing = new Map<string, Promise<unknown>>();

  constructor(
    url: string,
    private readonly onError: (err: unknown, event?: BusEvent) => void,
  ) {
    this.handlers = new HandlerRegistry(onError);
    this.publisher = new Redis(url, { maxRetriesPerRequest: 3 });
    this.subscriber = new Redis(url);
    this.publisher.on('error', (err) => this.onError(err));
    this.subscriber.on('error', (err) => this.onError(err));
    // A project channel reaches that project's handlers; the pattern reaches the wildcard handlers.
    this.subscriber.on('message', (_channel: string, raw: string) => this.deliver(raw, false));
    this.subscriber.on('pmessage', (_pattern: string, _channel: string, raw: string) => this.deliver(raw, true));
  }

  private deliver(raw: string, wildcard: boolean): void {
    let event: BusEvent;
    try {
      event = JSON.parse(raw) as BusEvent;
    } catch (err) {
      this.onError(err);
      return;
    }
    this.handlers.dispatch(wildcard ? ALL_PROJECTS : event.projectId, event);
  }

  async ready(): Promise<void> {
    await Promise.all([this.publisher.ping(), this.subscriber.ping()]);
  }

  /** A change already made must not fail because Redis is away: the loss is reported, not thrown. */
  async publish(event: BusEvent): Promise<void> {
    try {
      await this.publisher.publish(CHANNEL_PREFIX + event.projectId, JSON.stringify(event));
    } catch (err) {
      this.onError(err, event);
    }
  }

  async subscribe(projectId: string, handler: EventHandler): Promise<Unsubscribe> {
    const wildcard = projectId === ALL_PROJECTS;
    if (this.handlers.add(projectId, handler)) {
      const subscribing = wildcard
        ? this.subscriber.psubscribe(ALL_CHANNELS)
        : this.subscriber.subscribe(CHANNEL_PREFIX + projectId);
      this.subscribing.set(projectId, subscribing);
      subscribing.finally(() => this.subscribing.delete(projectId)).catch(() => {});
    }
    try {
      // A second handler of the same key waits for the first one's subscription too.
      await this.subscribing.get(projectId);
    } catch (err) {
      this.handlers.remove(projectId, handler);
      throw err;
    }
    return () => {
      if (!this.handlers.remove(projectId, handler)) return;
      const unsubscribed = wildcard
        ? this.subscriber.punsubscribe(ALL_CHANNELS)
        : this.subscriber.unsubscribe(CHANNEL_PREFIX + projectId);
      unsubscribed.catch((err: unknown) => this.onError(err));
    };
  }

  async close(): Promise<void> {
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}

export async function createEventBus(
  redisUrl: string | undefined,
  onError: (err: unknown, event?: BusEvent) => void,
): Promise<EventBus> {
  if (!redisUrl) return new InProcessEventBus(onError);
  const bus = new RedisEventBus(redisUrl, onError);
  await bus.ready();
  return bus;
}
