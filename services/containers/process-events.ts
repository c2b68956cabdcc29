/**
 * `process.started`, `process.exited` and `process.ports` on the event bus. What goes through this API
 * instance is announced (a start, a stop, any look that finds a change), and each process it started is
 * followed while this instance lives: a long-poll wait on the agent, short at first (a dev server's ports
 * appear in its first seconds), then long. An instance that dies stops following; a later look by any
 * instance still announces the exit it sees first (so an exit may, rarely, be announced twice).
 */
import type { ProcessInfo } from '../../lib/api-types.js';
import { makeEvent, type Actor, type EventBus } from '../../lib/event-bus.js';

/** How a follower waits: short slices while ports are likely to appear, then long ones. */
const EARLY_SLICE_MS = 1000;
const EARLY_PERIOD_MS = 30_000;
const LATE_SLICE_MS = 30_000;
/** Consecutive failed waits (the sandbox paused, stopped or gone) before a follower gives up. */
const MAX_FAILURES = 5;
const FAILURE_PAUSE_MS = 5000;
/** Processes remembered for their last announced state, oldest forgotten first. */
const MAX_REMEMBERED = 4096;

interface Seen {
  status: ProcessInfo['status'];
  ports: string;
}

export class ProcessAnnouncer {
  private readonly seen = new Map<string, Seen>();
  private readonly followers = new Set<AbortController>();

  constructor(private readonly bus: EventBus | undefined) {}

  /** A process this instance just started. */
  started(projectId: string, info: ProcessInfo, actor?: Actor): void {
    this.remember(projectId, info);
    this.publish(projectId, 'process.started', info, actor);
    if (info.status === 'exited') this.publish(projectId, 'process.exited', info, actor);
  }

  /** Any fresh look at a process: announces an exit or new ports not announced yet by this instance. */
  observed(projectId: string, info: ProcessInfo, actor?: Actor): void {
    const key = `${projectId}:${info.id}`;
    const before = this.seen.get(key);
    this.remember(projectId, info);
    if (!before) return; // never seen running here: nothing to compare with
    if (before.status === 'running' && info.status === 'exited') this.publish(projectId, 'process.exited', info, actor);
    else if (info.status === 'running' && before.ports !== info.ports.join(',')) this.publish(projectId, 'process.ports', info, actor);
  }

  /** Follows a process until it exits (or the sandbox stops answering), announcing what changes. */
  follow(projectId: string, info: ProcessInfo, wait: (id: string, timeoutMs: number, signal: AbortSignal) => Promise<ProcessInfo>): void {
    if (info.status === 'exited') return;
    const controller = new AbortController();
    this.followers.add(controller);
    const startedAt = Date.now();
    void (async () => {
      let failures = 0;
      while (!controller.signal.aborted && failures < MAX_FAILURES) {
        try {
          const slice = Date.now() - startedAt < EARLY_PERIOD_MS ? EARLY_SLICE_MS : LATE_SLICE_MS;
          const current = await wait(info.id, slice, controller.signal);
          failures = 0;
          if (controller.signal.aborted) break;
          this.observed(projectId, current, { kind: 'sandbox' });
          if (current.status === 'exited') break;
        } catch {
          // The sandbox may be paused or restarting; a process that is gone (NOT_FOUND) fails every time.
          failures += 1;
          await new Promise((resolve) => setTimeout(resolve, FAILURE_PAUSE_MS).unref());
        }
      }
      this.followers.delete(controller);
    })();
  }

  /** Stops following (the app is closing). */
  close(): void {
    for (const controller of this.followers) controller.abort();
    this.followers.clear();
  }

  private remember(projectId: string, info: ProcessInfo): void {
    const key = `${projectId}:${info.id}`;
    this.seen.delete(key);
    this.seen.set(key, { status: info.status, ports: info.ports.join(',') });
    while (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
  }

  private publish(projectId: string, type: string, info: ProcessInfo, actor?: Actor): void {
    if (!this.bus) return;
    void this.bus.publish(makeEvent(projectId, type, { process: info }, actor)).catch(() => {
      // The bus reports its own failures; an announcement lost is not worth failing the request for.
    });
  }
}
