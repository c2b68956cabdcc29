/**
 * A project's workspace files as the API offers them: access checked, every path resolved inside the
 * workspace (symlinks included), changes made atomically (all or nothing), owned by the sandbox user, and
 * announced on the event bus, together with the changes made inside the sandbox itself (sandbox-changes.ts).
 */
import { isUtf8 } from 'node:buffer';
import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { actorOf, type Permission, type Principal } from '../../lib/access.js';
import type { Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { makeEvent, type EventBus } from '../../lib/event-bus.js';
import { withProjectLock } from '../../lib/project-lock.js';
import { relPath, Workspace } from '../../lib/workspace-paths.js';
import type { ExecRequest, ExecResult, SandboxManager, Stack } from '../containers/index.js';
import { packDirectory, readArchive } from './archive.js';
import { extractArchive } from './archive-extract.js';
import { SandboxChanges, type FileChange } from './sandbox-changes.js';
import type { WatcherOptions } from './sandbox-watcher.js';
import { looksBinary, parseSearchOutput, searchCommand, type SearchOptions, type SearchResult } from './search.js';
import { buildTree, entryType, type TreeNode } from './tree.js';
import {
  lstatIn,
  prepareTarget,
  readFileIn,
  removeDirs,
  removeIn,
  SANDBOX_GID,
  SANDBOX_UID,
  versionOf,
  writeFileIn,
  type Target,
} from './workspace-ops.js';

/** The projects service's access check, as this service needs it. */
export type AuthorizeProject = (
  principal: Principal,
  projectId: string,
  permission: Permission,
) => Promise<{ id: string; stack: Stack }>;

export interface FilesLimits {
  /** The largest file read or written through the content routes. */
  maxFileBytes: number;
  /** The largest tar upload, and the most it may extract to. */
  maxArchiveBytes: number;
  maxArchiveEntries: number;
  maxTreeEntries: number;
  maxSearchResults: number;
  /** Larger files are skipped by search. */
  maxSearchFileBytes: number;
  /** A search reads at most this many files, and this many bytes in all, before it stops (truncated). */
  maxSearchFiles: number;
  maxSearchBytes: number;
  searchTimeoutMs: number;
}

export const DEFAULT_FILES_LIMITS: FilesLimits = {
  maxFileBytes: 10 * 1024 * 1024,
  maxArchiveBytes: 100 * 1024 * 1024,
  maxArchiveEntries: 50_000,
  maxTreeEntries: 20_000,
  maxSearchResults: 1000,
  maxSearchFileBytes: 1024 * 1024,
  maxSearchFiles: 20_000,
  maxSearchBytes: 256 * 1024 * 1024,
  searchTimeoutMs: 10_000,
};

export interface FilesServiceDeps {
  sandboxes: Pick<SandboxManager, 'workspaceDir' | 'ensureRunning' | 'activity'>;
  /** Runs a command in the project's sandbox (the containers service's `run`): search runs there. */
  exec: (projectId: string, stack: Stack, request: ExecRequest) => Promise<ExecResult>;
  authorize: AuthorizeProject;
  bus: EventBus;
  db: Db;
  limits?: Partial<FilesLimits>;
  /** How long sandbox changes are gathered before they are announced. */
  watchDebounceMs?: number;
  /** A project neither this service nor its sandbox used for this long is forgotten, its watcher released. */
  watchIdleMs?: number;
  /** How often watchers are looked at (released, forgotten, taken over from a process that let go). */
  watchCheckMs?: number;
  /** How directories are watched (a test may wrap `fs.watch`). */
  watch?: WatcherOptions['watch'];
  onError: (err: unknown) => void;
}

export type FileChangeKind = FileChange['kind'];

export interface FileContent {
  path: string;
  content: Buffer;
  version: string;
  /** A text type when the bytes are UTF-8 text, else application/octet-stream. */
  contentType: string;
}

export interface WriteResult {
  path: string;
  version: string;
  size: number;
  created: boolean;
}

export interface WriteConditions {
  /** The version the caller last read (or `*`: any): the write happens only if the file is still at it. */
  ifMatch?: string;
  /** Create only: the write happens only if nothing is at the path. */
  ifNoneMatch?: boolean;
}

interface OpenProject {
  ws: Workspace;
  stack: Stack;
}

/** A file this small travels in its change event, so that an editor open on it elsewhere updates without a read. */
const INLINE_TEXT_BYTES = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function inlineText(content: Buffer): { content?: string } {
  if (content.length > INLINE_TEXT_BYTES) return {};
  try {
    return { content: utf8.decode(content) };
  } catch {
    return {}; // not UTF-8 text: readers fetch the bytes
  }
}

export class FilesService {
  private readonly limits: FilesLimits;
  private readonly changes: SandboxChanges;
  /** First opens of a project in progress: concurrent requests share one. */
  private readonly opening = new Map<string, Promise<Workspace>>();

  constructor(private readonly deps: FilesServiceDeps) {
    this.limits = { ...DEFAULT_FILES_LIMITS, ...deps.limits };
    this.changes = new SandboxChanges({
      db: deps.db,
      bus: deps.bus,
      sandboxes: deps.sandboxes,
      debounceMs: deps.watchDebounceMs ?? 100,
      idleMs: deps.watchIdleMs ?? 15 * 60_000,
      checkMs: deps.watchCheckMs ?? 2000,
      maxDirectories: 4096,
      onError: deps.onError,
      ...(deps.watch ? { watch: deps.watch } : {}),
    });
  }

  get fileLimit(): number {
    return this.limits.maxFileBytes;
  }

  get archiveLimit(): number {
    return this.limits.maxArchiveBytes;
  }

  /** The project's workspace, the sandbox created (and started, so the workspace is in place) if need be. */
  private async open(principal: Principal, projectId: string, permission: Permission): Promise<OpenProject> {
    const project = await this.deps.authorize(principal, projectId, permission);
    const known = await this.changes.workspace(projectId);
    if (known) return { ws: known, stack: project.stack };
    let opening = this.opening.get(projectId);
    if (!opening) {
      opening = (async () => {
        await this.deps.sandboxes.ensureRunning(projectId, project.stack);
        const ws = new Workspace(await fs.realpath(await this.deps.sandboxes.workspaceDir(projectId, project.stack)));
        await this.changes.track(projectId, ws);
        return ws;
      })().finally(() => this.opening.delete(projectId));
      this.opening.set(projectId, opening);
    }
    return { ws: await opening, stack: project.stack };
  }

  /** Stops noticing sandbox changes of a project here and forgets its workspace (when its sandbox goes). */
  stopWatching(projectId: string): Promise<void> {
    return this.changes.forget(projectId);
  }

  /** The projects whose sandbox changes this process watches (at most one process per project). */
  watchedProjects(): string[] {
    return this.changes.watching();
  }

  /** Stops every watcher and lets other processes take them over (on shutdown). */
  close(): Promise<void> {
    return this.changes.close();
  }

  /** Publishes an API change (the watcher, wherever it runs, then knows it is not the sandbox's). */
  private announce(projectId: string, principal: Principal, data: FileChange): Promise<void> {
    return this.changes.announce(projectId, makeEvent(projectId, 'file.changed', data, actorOf(principal)));
  }

  /** After a change that needed new directories: announces them (it worked) or removes them (it failed). */
  private async settle<T>(
    projectId: string,
    principal: Principal,
    ws: Workspace,
    target: Target,
    path: string,
    change: () => Promise<T>,
  ): Promise<T> {
    let result: T;
    try {
      result = await change();
    } catch (err) {
      await removeDirs(ws, target.created).catch(this.deps.onError);
      throw ws.mapError(err, path);
    }
    for (const parts of target.created) await this.announce(projectId, principal, { path: relPath(parts), kind: 'created' });
    return result;
  }

  async tree(
    principal: Principal,
    projectId: string,
    options: { path: string; includeIgnored: boolean; depth: number },
  ): Promise<{ tree: TreeNode; truncated: boolean }> {
    const { ws } = await this.open(principal, projectId, 'read');
    const resolved = await ws.resolve(options.path, { followFinal: true });
    if (!resolved.stat?.isDirectory()) throw new AppError('INVALID_PATH', 'Not a directory', { path: options.path });
    const stat = resolved.stat;
    const root: TreeNode = {
      name: resolved.parts.at(-1) ?? '',
      path: relPath(resolved.parts),
      type: entryType(stat),
      size: stat.size,
      modifiedAt: stat.mtime.toISOString(),
    };
    const { tree, truncated } = await ws.inDir(resolved.parts, (dir) =>
      buildTree(dir, root, { includeIgnored: options.includeIgnored, maxDepth: options.depth, maxEntries: this.limits.maxTreeEntries }),
    );
    return { tree, truncated };
  }

  /** `maxBytes` lowers the size limit for this read (a caller that knows what the file should hold). */
  async read(principal: Principal, projectId: string, path: string, options: { maxBytes?: number } = {}): Promise<FileContent> {
    const { ws } = await this.open(principal, projectId, 'read');
    const maxBytes = Math.min(options.maxBytes ?? Infinity, this.limits.maxFileBytes);
    const resolved = await ws.resolve(path, { followFinal: true });
    if (!resolved.stat?.isFile()) throw new AppError('INVALID_PATH', 'Not a regular file', { path });
    const name = resolved.parts.at(-1)!;
    const content = await ws
      .inDir(resolved.parts.slice(0, -1), (dir) => readFileIn(dir, name, maxBytes))
      .catch((err: unknown) => {
        throw ws.mapError(err, path);
      });
    const text = !looksBinary(content) && isUtf8(content);
    return {
      path: relPath(resolved.parts),
      content,
      version: versionOf(content),
      contentType: text ? 'text/plain; charset=utf-8' : 'application/octet-stream',
    };
  }

  async write(
    principal: Principal,
    projectId: string,
    path: string,
    content: Buffer,
    conditions: WriteConditions = {},
  ): Promise<WriteResult> {
    const { ws } = await this.open(principal, projectId, 'write');
    if (content.length > this.limits.maxFileBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `A file may be at most ${this.limits.maxFileBytes} bytes`, {
        limit: this.limits.maxFileBytes,
      });
    }
    // Parents are created only after the checks below: resolve without creating first.
    const resolved = await ws.resolve(path, { followFinal: true, allowMissing: true });
    // The version check and the write are one step for the whole deployment, whichever instance serves them.
    const scope = `file:${relPath([...resolved.parts, ...resolved.missing])}`;
    return withProjectLock(this.deps.db, projectId, scope, async () => {
      const target = await prepareTarget(ws, path, { followFinal: true, createParents: true });
      const rel = relPath([...target.parent, target.name]);
      const written = await this.settle(projectId, principal, ws, target, path, () =>
        ws.inDir(target.parent, async (dir) => {
          const stat = await lstatIn(dir, target.name);
          if (stat && !stat.isFile()) {
            throw new AppError('CONFLICT', stat.isDirectory() ? 'The path is a directory' : 'The path is not a regular file', {
              path: rel,
            });
          }
          if (conditions.ifNoneMatch && stat) {
            throw new AppError('ALREADY_EXISTS', 'The file exists already', { path: rel });
          }
          // A file larger than the read limit has no version a client could hold: any If-Match fails.
          const current =
            stat && conditions.ifMatch !== undefined && conditions.ifMatch !== '*' && stat.size <= this.limits.maxFileBytes
              ? versionOf(await readFileIn(dir, target.name, this.limits.maxFileBytes))
              : null;
          const matches = conditions.ifMatch === '*' ? stat !== null : conditions.ifMatch === current;
          if (conditions.ifMatch !== undefined && !matches) {
            throw new AppError('VERSION_MISMATCH', 'The file changed since that version was read', {
              path: rel,
              currentVersion: current,
            });
          }
          await writeFileIn(dir, target.name, content, stat ? stat.mode : 0o644);
          return stat === null;
        }),
      );
      const version = versionOf(content);
      await this.announce(projectId, principal, { path: rel, kind: written ? 'created' : 'modified', version, ...inlineText(content) });
      return { path: rel, version, size: content.length, created: written };
    });
  }

  async mkdir(principal: Principal, projectId: string, path: string): Promise<{ path: string; created: boolean }> {
    const { ws } = await this.open(principal, projectId, 'write');
    const resolved = await ws.resolve(path, { followFinal: true, allowMissing: true });
    if (resolved.missing.length === 0) {
      if (resolved.stat?.isDirectory()) return { path: relPath(resolved.parts), created: false };
      throw new AppError('ALREADY_EXISTS', 'A file of that name exists', { path: relPath(resolved.parts) });
    }
    const target = await prepareTarget(ws, path, { followFinal: true, createParents: true });
    const rel = relPath([...target.parent, target.name]);
    await this.settle(projectId, principal, ws, target, path, () =>
      ws.inDir(target.parent, async (dir) => {
        await fs.mkdir(dir.at(target.name), 0o755);
        await fs.lchown(dir.at(target.name), SANDBOX_UID, SANDBOX_GID);
      }),
    );
    await this.announce(projectId, principal, { path: rel, kind: 'created' });
    return { path: rel, created: true };
  }

  async remove(principal: Principal, projectId: string, path: string, recursive: boolean): Promise<void> {
    const { ws } = await this.open(principal, projectId, 'write');
    // The link itself goes, never what it points at.
    const resolved = await ws.resolve(path, { followFinal: false });
    if (resolved.parts.length === 0) throw new AppError('INVALID_PATH', 'The workspace root cannot be deleted', { path });
    const rel = relPath(resolved.parts);
    await ws.inDir(resolved.parts.slice(0, -1), (dir) => removeIn(dir, resolved.parts.at(-1)!, recursive)).catch((err: unknown) => {
      throw ws.mapError(err, path);
    });
    await this.announce(projectId, principal, { path: rel, kind: 'deleted' });
  }

  async move(
    principal: Principal,
    projectId: string,
    request: { from: string; to: string; overwrite: boolean },
  ): Promise<{ from: string; to: string }> {
    const { ws } = await this.open(principal, projectId, 'write');
    const source = await ws.resolve(request.from, { followFinal: false });
    if (source.parts.length === 0) throw new AppError('INVALID_PATH', 'The workspace root cannot be moved', { path: request.from });
    const from = relPath(source.parts);
    const existing = await ws.resolve(request.to, { followFinal: false, allowMissing: true });
    if (existing.missing.length === 0 && !request.overwrite) {
      throw new AppError('ALREADY_EXISTS', 'Something exists at the destination; pass overwrite to replace it', {
        path: relPath(existing.parts),
      });
    }
    // Checked before any missing directory is made for the destination: a refused move changes nothing.
    const destination = relPath([...existing.parts, ...existing.missing]);
    if (destination === from) return { from, to: destination };
    if (destination.startsWith(from + '/')) {
      throw new AppError('INVALID_PATH', 'A directory cannot be moved into itself', { path: request.to });
    }
    const target = await prepareTarget(ws, request.to, { followFinal: false, createParents: true });
    const to = relPath([...target.parent, target.name]);
    await this.settle(projectId, principal, ws, target, request.to, () =>
      ws.inDir(source.parts.slice(0, -1), (fromDir) =>
        ws.inDir(target.parent, (toDir) => fs.rename(fromDir.at(source.parts.at(-1)!), toDir.at(target.name))),
      ),
    );
    await this.announce(projectId, principal, { path: to, kind: 'renamed', from });
    return { from, to };
  }

  /** Runs in the sandbox (see search.ts), bounded in files, bytes, matches and time. */
  async search(
    principal: Principal,
    projectId: string,
    options: { query: string; path: string; maxResults: number; caseSensitive: boolean; includeIgnored: boolean },
  ): Promise<SearchResult> {
    if (/[\n\r\0]/.test(options.query)) {
      throw new AppError('VALIDATION_FAILED', 'The search text is one line, without NUL bytes');
    }
    const { ws, stack } = await this.open(principal, projectId, 'read');
    const resolved = await ws.resolve(options.path, { followFinal: true });
    if (!resolved.stat?.isDirectory()) throw new AppError('INVALID_PATH', 'Not a directory', { path: options.path });
    const search: SearchOptions = {
      query: options.query,
      caseSensitive: options.caseSensitive,
      includeIgnored: options.includeIgnored,
      maxResults: Math.min(options.maxResults, this.limits.maxSearchResults),
      maxFileBytes: this.limits.maxSearchFileBytes,
      maxFiles: this.limits.maxSearchFiles,
      maxTotalBytes: this.limits.maxSearchBytes,
      timeoutMs: this.limits.searchTimeoutMs,
    };
    const result = await this.deps.exec(projectId, stack, searchCommand(relPath(resolved.parts), search));
    return parseSearchOutput(result, search);
  }

  /** A tar stream of a directory; the directory stays open until the stream ends. */
  async download(
    principal: Principal,
    projectId: string,
    options: { path: string; includeIgnored: boolean },
  ): Promise<{ name: string; stream: Readable }> {
    const { ws } = await this.open(principal, projectId, 'read');
    const resolved = await ws.resolve(options.path, { followFinal: true });
    if (!resolved.stat?.isDirectory()) throw new AppError('INVALID_PATH', 'Not a directory', { path: options.path });
    const dir = await ws.openDir(resolved.parts);
    const stream = packDirectory(dir, options.includeIgnored, this.deps.onError);
    stream.once('close', () => void dir.close().catch(() => {}));
    return { name: resolved.parts.at(-1) ?? 'workspace', stream };
  }

  /**
   * Extracts a tar into a directory (created if need be), all or nothing: refused whole if any entry could lead
   * outside it, by its name or through a link, or exceeds the limits (see archive.ts, archive-extract.ts).
   */
  async upload(
    principal: Principal,
    projectId: string,
    path: string,
    body: Buffer,
  ): Promise<{ path: string; files: number; directories: number; symlinks: number; bytes: number }> {
    const { ws } = await this.open(principal, projectId, 'write');
    if (body.length > this.limits.maxArchiveBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `An archive may be at most ${this.limits.maxArchiveBytes} bytes`);
    }
    const dest = await ws.resolve(path, { followFinal: true, allowMissing: true });
    if (dest.missing.length === 0 && !dest.stat?.isDirectory()) {
      throw new AppError('INVALID_PATH', 'Not a directory', { path });
    }
    const root = await readArchive(body, [...dest.parts, ...dest.missing], {
      maxEntries: this.limits.maxArchiveEntries,
      maxExtractedBytes: this.limits.maxArchiveBytes,
    });
    const { changes, counts } = await extractArchive(ws, dest, root, this.deps.onError);
    for (const change of changes) await this.announce(projectId, principal, change);
    return { path: relPath([...dest.parts, ...dest.missing]), ...counts };
  }
}
