/**
 * Changes made inside sandboxes, announced once per deployment. Of the processes that use a project's files
 * (API instances, the Temporal worker), only the one holding the project's watch lock (a PostgreSQL session
 * advisory lock, see lib/lock-session.ts) watches its workspace; the others try again now and then, so one
 * takes over when the holder lets go or goes away. A project is let go when its sandbox is not running, and
 * forgotten when neither the files service nor the sandbox was used for a while. The watching process also
 * hears the API's own changes from every instance (on the event bus), so it does not announce them again.
 */
import { promises as fs, type Stats } from 'node:fs';
import type { Db } from '../../lib/db.js';
import { makeEvent, type BusEvent, type EventBus, type Unsubscribe } from '../../lib/event-bus.js';
import type { FileChange } from '../../lib/api-types.js';
import { LockSession } from '../../lib/lock-session.js';
import { projectLockKey } from '../../lib/project-lock.js';
import type { Workspace } from '../../lib/workspace-paths.js';
import type { SandboxManager } from '../containers/index.js';
import { SandboxWatcher, type ChangeKind, type WatcherOptions } from './sandbox-watcher.js';

export interface SandboxChangesOptions {
  db: Db;
  bus: EventBus;
  sandboxes: Pick<SandboxManager, 'activity'>;
  /** How long sandbox changes are gathered before they are announced. */
  debounceMs: number;
  /** A project neither the files service nor its sandbox used for this long is forgotten. */
  idleMs: number;
  /** How often projects are looked at: let go, forgotten, or taken over from a process that let go. */
  checkMs: number;
  /** Beyond this many directories per project, deeper ones are not watched (inotify watches are a host-wide budget). */
  maxDirectories: number;
  onError: (err: unknown) => void;
  /** How a directory is watched (a test may wrap `fs.watch`). */
  watch?: WatcherOptions['watch'];
}

/** The data of a `file.changed` event. */
export type { FileChange };

/** API changes show up in the watcher too; for this long, it checks what it sees against them. */
const SUPPRESS_MS = 1500;
const ABSENT = 'absent';
const WATCH_SCOPE = 'files-watch';

/** What the API left at a path it changed, so that the watcher can tell that change from the sandbox's. */
interface OwnChange {
  until: number;
  /** The identity of what is there (see stampOf); undefined while it is being taken. */
  stamp?: string;
  /** The path went away with everything below it (delete, move): absent descendants are ours too. */
  tree: boolean;
  /** The event that announced it. */
  eventId: string;
}

interface Tracked {
  projectId: string;
  ws: Workspace;
  usedAt: number;
  /** Set only while this process holds the project's watch lock. */
  watcher: SandboxWatcher | null;
  unsubscribe: Unsubscribe | null;
  /** Workspace-relative paths the API changed lately. */
  suppressed: Map<string, OwnChange>;
  claiming: Promise<void> | null;
  forgotten: boolean;
}

function stampOf(stat: Stats | null): string {
  if (!stat) return ABSENT;
  // A directory's own times change with its entries: its inode alone says it is the one the API made.
  return stat.isDirectory() ? `dir:${stat.ino}` : `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

export class SandboxChanges {
  private readonly tracked = new Map<string, Tracked>();
  private readonly locks: LockSession;
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private closed = false;

  constructor(private readonly options: SandboxChangesOptions) {
    this.locks = new LockSession(options.db, (keys, err) => this.locksLost(keys, err));
  }

  /** The project's workspace if tracked and still there; marks the project used. */
  async workspace(projectId: string): Promise<Workspace | null> {
    const tracked = this.tracked.get(projectId);
    if (!tracked) return null;
    if (!(await fs.stat(tracked.ws.root).then(() => true, () => false))) {
      await this.forget(projectId);
      return null;
    }
    tracked.usedAt = Date.now();
    return tracked.ws;
  }

  /** Starts tracking a project's workspace; it is watched here at once unless another process watches it. */
  async track(projectId: string, ws: Workspace): Promise<void> {
    if (this.closed) return;
    let tracked = this.tracked.get(projectId);
    if (!tracked) {
      tracked = { projectId, ws, usedAt: Date.now(), watcher: null, unsubscribe: null, suppressed: new Map(), claiming: null, forgotten: false };
      this.tracked.set(projectId, tracked);
    }
    this.timer ??= setInterval(() => void this.check(), this.options.checkMs).unref();
    await this.claim(tracked);
  }

  /** Projects this process watches. */
  watching(): string[] {
    return [...this.tracked.values()].filter((tracked) => tracked.watcher).map((tracked) => tracked.projectId);
  }

  /** Stops watching a project and forgets it (its sandbox or the project itself is going). */
  async forget(projectId: string): Promise<void> {
    const tracked = this.tracked.get(projectId);
    if (!tracked) return;
    this.tracked.delete(projectId);
    tracked.forgotten = true;
    await tracked.claiming;
    await this.letGo(tracked);
  }

  /** Stops every watcher; ending the lock session frees the locks for the other processes. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const projectId of [...this.tracked.keys()]) await this.forget(projectId);
    await this.locks.close();
  }

  /** Publishes an API change and tells the watcher what the API left at the paths, so it does not repeat it. */
  async announce(projectId: string, event: BusEvent<FileChange>): Promise<void> {
    void this.options.bus.publish(event);
    const tracked = this.tracked.get(projectId);
    if (tracked) await this.expect(tracked, event);
  }

  private async expect(tracked: Tracked, event: BusEvent<FileChange>): Promise<void> {
    const until = Date.now() + SUPPRESS_MS;
    const record = async (path: string, tree: boolean) => {
      const entry: OwnChange = { until, tree, eventId: event.id };
      tracked.suppressed.set(path, entry);
      const stat = await fs.lstat(tracked.ws.hostPath(path === '' ? [] : path.split('/'))).catch(() => null);
      entry.stamp = stampOf(stat);
    };
    await Promise.all([
      record(event.data.path, event.data.kind === 'deleted'),
      event.data.from === undefined ? undefined : record(event.data.from, true),
    ]);
    if (tracked.suppressed.size > 10_000) {
      for (const [path, entry] of tracked.suppressed) if (entry.until < Date.now()) tracked.suppressed.delete(path);
    }
  }

  /** An event of the project from any instance: the API's changes made elsewhere are expected here too. */
  private heard(tracked: Tracked, event: BusEvent): void {
    if (event.type !== 'file.changed' || event.actor?.kind === 'sandbox') return;
    const data = event.data as Partial<FileChange> | null;
    if (typeof data?.path !== 'string' || (data.from !== undefined && typeof data.from !== 'string')) return;
    if (tracked.suppressed.get(data.path)?.eventId === event.id) return; // announced by this process
    this.expect(tracked, event as BusEvent<FileChange>).catch(this.options.onError);
  }

  private sandboxChanged(tracked: Tracked, path: string, kind: ChangeKind, stat: Stats | null): void {
    if (this.isOwnChange(tracked, path, stat)) return;
    // The watcher batches events (debounce): the API's own create and a change by the sandbox right after it can
    // arrive as one "created". The API already announced the creation; what the sandbox did is a modification.
    const own = tracked.suppressed.get(path);
    if (kind === 'created' && stat && own && own.until > Date.now() && own.stamp !== ABSENT) kind = 'modified';
    void this.options.bus.publish(makeEvent(tracked.projectId, 'file.changed', { path, kind }, { kind: 'sandbox' }));
  }

  /** True when what the watcher saw is what the API itself just left there (or removed, with what was below). */
  private isOwnChange(tracked: Tracked, path: string, stat: Stats | null): boolean {
    const now = Date.now();
    const current = stampOf(stat);
    for (let p = path; ; p = p.slice(0, p.lastIndexOf('/'))) {
      const expected = tracked.suppressed.get(p);
      if (expected && expected.until > now) {
        if (p === path && (expected.stamp === undefined || expected.stamp === current)) return true;
        if (p !== path && expected.tree && current === ABSENT) return true;
      }
      if (!p.includes('/')) return false;
    }
  }

  /** Watches the project here if no other process does (one attempt at a time). */
  private claim(tracked: Tracked): Promise<void> {
    tracked.claiming ??= this.tryClaim(tracked).finally(() => {
      tracked.claiming = null;
    });
    return tracked.claiming;
  }

  private async tryClaim(tracked: Tracked): Promise<void> {
    if (tracked.watcher || tracked.forgotten || this.closed) return;
    const key = projectLockKey(tracked.projectId, WATCH_SCOPE);
    if (!(await this.locks.tryLock(key))) return;
    const watcher = new SandboxWatcher(tracked.ws, {
      debounceMs: this.options.debounceMs,
      maxDirectories: this.options.maxDirectories,
      onChange: (path, kind, stat) => this.sandboxChanged(tracked, path, kind, stat),
      onError: this.options.onError,
      ...(this.options.watch ? { watch: this.options.watch } : {}),
    });
    try {
      tracked.unsubscribe = await this.options.bus.subscribe(tracked.projectId, (event) => this.heard(tracked, event));
      await watcher.start();
    } catch (err) {
      watcher.close();
      this.stopWatcher(tracked);
      await this.locks.unlock(key);
      throw err;
    }
    tracked.watcher = watcher;
    if (tracked.forgotten || this.closed) await this.letGo(tracked);
  }

  /** Stops watching the project here and frees its lock for another process. */
  private async letGo(tracked: Tracked): Promise<void> {
    if (!tracked.watcher) return;
    this.stopWatcher(tracked);
    await this.locks.unlock(projectLockKey(tracked.projectId, WATCH_SCOPE));
  }

  private stopWatcher(tracked: Tracked): void {
    tracked.watcher?.close();
    tracked.watcher = null;
    tracked.unsubscribe?.();
    tracked.unsubscribe = null;
  }

  /** The lock connection went away, and the locks with it: another process may watch already. */
  private locksLost(keys: string[], err: unknown): void {
    this.options.onError(err);
    const lost = new Set(keys);
    for (const tracked of this.tracked.values()) {
      if (lost.has(projectLockKey(tracked.projectId, WATCH_SCOPE))) this.stopWatcher(tracked);
    }
  }

  /** Lets go of projects whose sandbox is not running, forgets idle ones, and takes over the others if free. */
  private async check(): Promise<void> {
    if (this.checking || this.tracked.size === 0) return;
    this.checking = true;
    try {
      const all = [...this.tracked.values()];
      const activity = await this.options.sandboxes.activity(all.map((tracked) => tracked.projectId));
      const now = Date.now();
      for (const tracked of all) {
        const sandbox = activity.get(tracked.projectId);
        if (!sandbox || now - Math.max(tracked.usedAt, sandbox.lastUsedAt.getTime()) > this.options.idleMs) {
          await this.forget(tracked.projectId);
        } else if (sandbox.state !== 'running') {
          await this.letGo(tracked);
        } else {
          await this.claim(tracked);
        }
      }
    } catch (err) {
      this.options.onError(err);
    } finally {
      this.checking = false;
    }
  }
}
