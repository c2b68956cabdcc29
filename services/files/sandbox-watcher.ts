/**
 * Notices changes made inside a sandbox (a shell, a generator) to its workspace: one inotify watch per
 * directory (ignored directories left out), each added through a verified directory fd so that a symlink
 * swapped in by the sandbox can never make us watch a host directory. Changes are debounced per path. A watch
 * that fails (an inotify error, the host's watch budget used up) is reported and tried again later.
 */
import { promises as fs, watch, type FSWatcher, type Stats } from 'node:fs';
import { STAGING_NAME } from './archive-extract.js';
import { IGNORED_NAMES } from './tree.js';
import { relPath, type Workspace } from '../../lib/workspace-paths.js';

export type ChangeKind = 'created' | 'modified' | 'deleted';

export interface WatcherOptions {
  debounceMs: number;
  /** Beyond this many directories, deeper ones are not watched (inotify watches are a host-wide budget). */
  maxDirectories: number;
  /** `stat`: what is at the path now (null: nothing), for telling the API's own changes apart. */
  onChange: (path: string, kind: ChangeKind, stat: Stats | null) => void;
  onError: (err: unknown) => void;
  /** How a directory is watched: `fs.watch` (a test may wrap it). */
  watch?: typeof watch;
}

/** The API's own temporary files (see writeFileIn) and upload staging directories (see archive-extract.ts). */
const TEMP_NAME = /^\.vf-[0-9a-f]{12}\.tmp$/;

function isOwnTemporary(name: string): boolean {
  return TEMP_NAME.test(name) || STAGING_NAME.test(name);
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

export class SandboxWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly pending = new Map<string, 'rename' | 'change'>();
  private timer: NodeJS.Timeout | null = null;
  /** Directories whose watch failed, to be tried again; the delay doubles while they keep failing. */
  private readonly retry = new Set<string>();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_FIRST_MS;
  private retrying = false;
  private limitReported = false;
  private closed = false;

  constructor(
    private readonly ws: Workspace,
    private readonly options: WatcherOptions,
  ) {}

  async start(): Promise<void> {
    await this.watchTree([]);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.pending.clear();
  }

  /** Watches a directory and those below it; `report`: its entries are new (a directory made by the sandbox). */
  private async watchTree(parts: string[], report = false): Promise<void> {
    if (this.closed || this.watchers.has(relPath(parts))) return;
    if (this.watchers.size >= this.options.maxDirectories) {
      if (!this.limitReported) {
        this.limitReported = true;
        this.options.onError(new Error(`${this.ws.root}: more than ${this.options.maxDirectories} directories, deeper ones are not watched`));
      }
      return;
    }
    let subdirs: string[];
    try {
      subdirs = await this.ws.inDir(parts, async (dir) => {
        // inotify resolves the fd's magic link: the watch is on the verified directory itself.
        const watcher = (this.options.watch ?? watch)(dir.self, { persistent: false }, (event, name) => {
          if (name) this.noticed(parts, name.toString(), event);
        });
        watcher.on('error', (err) => {
          this.options.onError(err);
          this.unwatch(relPath(parts));
          this.retryLater(parts);
        });
        this.watchers.set(relPath(parts), watcher);
        const names = (await fs.readdir(dir.self)).filter((name) => !IGNORED_NAMES.has(name) && !isOwnTemporary(name));
        const found: string[] = [];
        for (const name of names) {
          const stat = await fs.lstat(dir.at(name)).catch(() => null);
          if (!stat) continue;
          // What appeared before the watch was in place would otherwise go unnoticed.
          if (report) this.options.onChange(relPath([...parts, name]), 'created', stat);
          if (stat.isDirectory()) found.push(name);
        }
        return found;
      });
    } catch (err) {
      // Gone or replaced meanwhile: nothing to watch there. Anything else (no inotify watch left) is reported.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'FILE_NOT_FOUND' || code === 'INVALID_PATH' || code === 'CONFLICT') return;
      this.options.onError(err);
      this.unwatch(relPath(parts));
      this.retryLater(parts);
      return;
    }
    for (const name of subdirs) await this.watchTree([...parts, name], report);
  }

  private retryLater(parts: string[]): void {
    if (this.closed) return;
    this.retry.add(relPath(parts));
    if (!this.retrying) this.retryTimer ??= setTimeout(() => void this.retryNow(), this.retryMs);
  }

  /** Watches again what failed; what fails again waits twice as long. */
  private async retryNow(): Promise<void> {
    this.retryTimer = null;
    this.retrying = true;
    const paths = [...this.retry];
    this.retry.clear();
    for (const path of paths) await this.watchTree(path === '' ? [] : path.split('/'));
    this.retrying = false;
    this.retryMs = this.retry.size > 0 ? Math.min(this.retryMs * 2, RETRY_MAX_MS) : RETRY_FIRST_MS;
    if (this.retry.size > 0 && !this.closed) this.retryTimer = setTimeout(() => void this.retryNow(), this.retryMs);
  }

  private unwatch(path: string): void {
    for (const [key, watcher] of this.watchers) {
      if (key === path || key.startsWith(path + '/')) {
        watcher.close();
        this.watchers.delete(key);
      }
    }
  }

  private noticed(parts: string[], name: string, event: 'rename' | 'change'): void {
    if (this.closed || isOwnTemporary(name) || IGNORED_NAMES.has(name)) return;
    const path = relPath([...parts, name]);
    // A rename (create, delete, move) says more than a change: keep it.
    if (this.pending.get(path) !== 'rename') this.pending.set(path, event);
    this.timer ??= setTimeout(() => void this.flush(), this.options.debounceMs);
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [path, event] of batch) {
      if (this.closed) return;
      try {
        const stat = await fs.lstat(this.ws.hostPath(path.split('/'))).catch(() => null);
        if (!stat) {
          this.unwatch(path);
          this.options.onChange(path, 'deleted', null);
          continue;
        }
        this.options.onChange(path, event === 'rename' ? 'created' : 'modified', stat);
        if (stat.isDirectory() && !this.watchers.has(path)) await this.watchTree(path.split('/'), true);
      } catch (err) {
        this.options.onError(err);
      }
    }
  }
}
