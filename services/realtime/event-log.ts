/**
 * The project event log: what the bus carried, kept in PostgreSQL and numbered per project. A client that lost
 * its connection asks for what came after the last number it saw; an IDE opened later shows the recent past.
 * `LoggedEventBus` numbers each event before it goes out, so every instance and every client agrees on one order.
 */
import type { Db } from '../../lib/db.js';
import type { BusEvent, EventBus, EventHandler, Unsubscribe } from '../../lib/event-bus.js';
import { KeyedQueue } from '../../lib/keyed-queue.js';

/** Large payloads travel live only (a file's new text): the log keeps what a late reader needs to act. */
const LIVE_ONLY_KEYS = ['content'] as const;
/** Replies are bounded: a client further behind than this starts over from the latest events. */
export const MAX_REPLAY = 1000;
/** Per project, the log keeps at most this many events (and none older than the retention). */
const KEEP_PER_PROJECT = 5000;
const PRUNE_EVERY = 500;
/** How long events are kept (the sweep in services/gateway/main.ts removes older ones). */
export const EVENT_RETENTION_MS = 7 * 24 * 3600_000;

interface EventRow {
  project_id: string;
  seq: string;
  id: string;
  type: string;
  at: Date;
  actor: BusEvent['actor'] | null;
  data: unknown;
}

function toEvent(row: EventRow): BusEvent {
  const event: BusEvent = { id: row.id, seq: Number(row.seq), projectId: row.project_id, type: row.type, at: row.at.toISOString(), data: row.data };
  if (row.actor) event.actor = row.actor;
  return event;
}

function loggedData(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data ?? null;
  if (!LIVE_ONLY_KEYS.some((key) => key in data)) return data;
  const copy: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const key of LIVE_ONLY_KEYS) delete copy[key];
  return copy;
}

export class ProjectEventLog {
  constructor(private readonly db: Db) {}

  /** Records the event; returns its number in the project (1, 2, 3, ... without gaps). */
  async append(event: BusEvent): Promise<number> {
    // One statement: the counter row stays locked until the insert commits, so numbers follow commit order.
    const { rows } = await this.db.query<{ seq: string }>(
      `WITH counter AS (
         INSERT INTO project_event_counters (project_id, seq) VALUES ($1, 1)
         ON CONFLICT (project_id) DO UPDATE SET seq = project_event_counters.seq + 1
         RETURNING seq
       )
       INSERT INTO project_events (project_id, seq, id, type, at, actor, data)
       SELECT $1, counter.seq, $2, $3, $4, $5, $6 FROM counter
       RETURNING seq`,
      [event.projectId, event.id, event.type, event.at, event.actor ? JSON.stringify(event.actor) : null, JSON.stringify(loggedData(event.data))],
    );
    const seq = Number(rows[0]!.seq);
    if (seq % PRUNE_EVERY === 0) {
      await this.db.query('DELETE FROM project_events WHERE project_id = $1 AND seq <= $2', [event.projectId, seq - KEEP_PER_PROJECT]);
    }
    return seq;
  }

  /** The events after `after`, oldest first, at most `limit`. */
  async after(projectId: string, after: number, limit = MAX_REPLAY): Promise<BusEvent[]> {
    const { rows } = await this.db.query<EventRow>(
      'SELECT * FROM project_events WHERE project_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [projectId, after, limit],
    );
    return rows.map(toEvent);
  }

  /** The latest `limit` events, oldest first. */
  async latest(projectId: string, limit: number): Promise<BusEvent[]> {
    const { rows } = await this.db.query<EventRow>(
      'SELECT * FROM (SELECT * FROM project_events WHERE project_id = $1 ORDER BY seq DESC LIMIT $2) recent ORDER BY seq',
      [projectId, limit],
    );
    return rows.map(toEvent);
  }

  /** The number of the project's latest event (0: none yet). */
  async lastSeq(projectId: string): Promise<number> {
    const { rows } = await this.db.query<{ seq: string }>('SELECT seq FROM project_event_counters WHERE project_id = $1', [projectId]);
    return rows[0] ? Number(rows[0].seq) : 0;
  }

  /** Removes events older than the retention, and the counters of projects that no longer exist. */
  async prune(retentionMs: number): Promise<void> {
    await this.db.query('DELETE FROM project_events WHERE at < $1', [new Date(Date.now() - retentionMs)]);
    await this.db.query(
      `DELETE FROM project_event_counters c
        WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = c.project_id)
          AND NOT EXISTS (SELECT 1 FROM project_events e WHERE e.project_id = c.project_id)`,
    );
  }
}

/**
 * A bus that logs each event (giving it its `seq`) before publishing it. When the log cannot be written, the
 * event still goes out live, without a number: a client then tells it apart by id, and a resume may miss it.
 */
export class LoggedEventBus implements EventBus {
  /** One project's events from this process are numbered and sent in the order they were published. */
  private readonly order = new KeyedQueue();

  constructor(
    private readonly inner: EventBus,
    readonly log: ProjectEventLog,
    private readonly onError: (err: unknown) => void,
  ) {}

  publish(event: BusEvent): Promise<void> {
    return this.order.run(event.projectId, async () => {
      try {
        event.seq = await this.log.append(event);
      } catch (err) {
        this.onError(err);
      }
      await this.inner.publish(event);
    });
  }

  subscribe(projectId: string, handler: EventHandler): Promise<Unsubscribe> {
    return this.inner.subscribe(projectId, handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
