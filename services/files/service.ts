/**
 * A project's workspace files as the API offers them: access checked, every path resolved inside the
 * workspace (symlinks included), changes made atomically, owned by the sandbox user, and announced on the
 * event bus, together with the changes made inside the sandbox itself.
 */
import { isUtf8 } from 'node:buffer';
import { promises as fs, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Permission, Principal } from '../../lib/access.js';
import { AppError } from '../../lib/errors.js';
import { makeEvent, type Actor, type EventBus } from '../../lib/event-bus.js';
import type { SandboxManager, Stack } from '../containers/index.js';
import { packDirectory, readArchive } from './archive.js';
import { SandboxWatcher, type ChangeKind } from './sandbox-watcher.js';
import { looksBinary, searchText, type SearchMatch } from './search.js';
import { KeyedQueue } from '../../lib/keyed-queue.js';
import { buildTree, entryType, type TreeNode } from './tree.js';
import {
  lstatIn,
  prepareTarget,
  readFileIn,
  removeIn,
  SANDBOX_GID,
  SANDBOX_UID,
  versionOf,
  writeFileIn,
} from './workspace-ops.js';
import { relPath, Workspace } from '../../lib/workspace-paths.js';

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
}

export const DEFAULT_FILES_LIMITS: FilesLimits = {
  maxFileBytes: 10 * 1024 * 1024,
  maxArchiveBytes: 100 * 1024 * 1024,
  maxArchiveEntries: 50_000,
  maxTreeEntries: 20_000,
  maxSearchResults: 1000,
  maxSearchFileBytes: 1024 * 1024,
};

export interface FilesServiceDeps {
  sandboxes: Pick<SandboxManager, 'workspaceDir' | 'ensureRunning'>;
  authorize: AuthorizeProject;
  bus: EventBus;
  limits?: Partial<FilesLimits>;
  /** How long sandbox changes are gathered before they are announced. */
  watchDebounceMs?: number;
  onError: (err: unknown) => void;
}

export type FileChangeKind = ChangeKind | 'renamed';

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

/** API changes show up in the watcher too; for this long, it checks what it sees against them. */
const SUPPRESS_MS = 1500;

function actorOf(principal: Principal): Actor {
  return principal.kind === 'user' ? { kind: 'user', id: principal.userId } : { kind: 'apiKey', id: principal.keyId };
}

/** What the API left at a path it changed, so that the watcher can tell that change from the sandbox's. */
interface OwnChange {
  until: number;
  /** The identity of what is there (see stampOf); undefined while it is being taken. */
  stamp?: string;
  /** The path went away with everything below it (delete, move): absent descendants are ours too. */
  tree: boolean;
}

interface ProjectFiles {
  ws: Workspace;
  watcher: SandboxWatcher | null;
  /** Workspace-relative paths the API changed lately. */
  suppressed: Map<string, OwnChange>;
}

const ABSENT = 'absent';

function stampOf(stat: Stats | null): string {
  if (!stat) return ABSENT;
  // A directory's own times change with its entries: its inode alone says it is the one the API made.
  return stat.isDirectory() ? `dir:${stat.ino}` : `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

export class FilesService {
  private readonly limits: FilesLimits;
  private readonly projects = new Map<string, Promise<ProjectFiles>>();
  /** One change at a time per path: the version check and the write must not interleave with another's. */
  private readonly locks = new KeyedQueue();

  constructor(private readonly deps: FilesServiceDeps) {
    this.limits = { ...DEFAULT_FILES_LIMITS, ...deps.limits };
  }

  get fileLimit(): number {
    return this.limits.maxFileBytes;
  }

  get archiveLimit(): number {
    return this.limits.maxArchiveBytes;
  }

  /** The project's workspace, the sandbox created (and started once, so the volume is populated) if need be. */
  private async open(principal: Principal, projectId: string, permission: Permission): Promise<ProjectFiles> {
    const project = await this.deps.authorize(principal, projectId, permission);
    let entry = this.projects.get(projectId);
    if (entry) {
      const files = await entry.catch(() => null);
      if (files && (await fs.stat(files.ws.root).then(() => true, () => false))) return files;
      this.stopWatching(projectId);
    }
    entry = (async () => {
      await this.deps.sandboxes.ensureRunning(projectId, project.stack);
      const root = await fs.realpath(await this.deps.sandboxes.workspaceDir(projectId, project.stack));
      const files: ProjectFiles = { ws: new Workspace(root), watcher: null, suppressed: new Map() };
      files.watcher = new SandboxWatcher(files.ws, {
        debounceMs: this.deps.watchDebounceMs ?? 100,
        maxDirectories: 4096,
        onChange: (path, kind, stat) => this.sandboxChanged(projectId, files, path, kind, stat),
        onError: this.deps.onError,
      });
      await files.watcher.start();
      return files;
    })();
    this.projects.set(projectId, entry);
    entry.catch(() => this.projects.delete(projectId));
    return entry;
  }

  /** Stops noticing sandbox changes of a project and forgets its workspace (when its sandbox goes). */
  stopWatching(projectId: string): void {
    const entry = this.projects.get(projectId);
    this.projects.delete(projectId);
    void entry?.then((files) => files.watcher?.close(), () => {});
  }

  /** Stops every watcher (on shutdown). */
  close(): void {
    for (const projectId of [...this.projects.keys()]) this.stopWatching(projectId);
  }

  private sandboxChanged(projectId: string, files: ProjectFiles, path: string, kind: ChangeKind, stat: Stats | null): void {
    if (this.isOwnChange(files, path, stat)) return;
    // The watcher batches events (debounce): the API's own create and a change by the sandbox right after it can
    // arrive as one "created". The API already announced the creation; what the sandbox did is a modification.
    const own = files.suppressed.get(path);
    if (kind === 'created' && stat && own && own.until > Date.now() && own.stamp !== ABSENT) kind = 'modified';
    void this.deps.bus.publish(makeEvent(projectId, 'file.changed', { path, kind }, { kind: 'sandbox' }));
  }

  /** True when what the watcher saw is what the API itself just left there (or removed, with what was below). */
  private isOwnChange(files: ProjectFiles, path: string, stat: Stats | null): boolean {
    const now = Date.now();
    const current = stampOf(stat);
    for (let p = path; ; p = p.slice(0, p.lastIndexOf('/'))) {
      const expected = files.suppressed.get(p);
      if (expected && expected.until > now) {
        if (p === path && (expected.stamp === undefined || expected.stamp === current)) return true;
        if (p !== path && expected.tree && current === ABSENT) return true;
      }
      if (!p.includes('/')) return false;
    }
  }

  /** Publishes an API change, and tells the watcher what the API left at the paths so it does not repeat it. */
  private async announce(
    projectId: string,
    files: ProjectFiles,
    principal: Principal,
    data: { path: string; kind: FileChangeKind; from?: string },
  ): Promise<void> {
    void this.deps.bus.publish(makeEvent(projectId, 'file.changed', data, actorOf(principal)));
    const until = Date.now() + SUPPRESS_MS;
    const expect = async (path: string, tree: boolean) => {
      const entry: OwnChange = { until, tree };
      files.suppressed.set(path, entry);
      const stat = await fs.lstat(files.ws.hostPath(path === '' ? [] : path.split('/'))).catch(() => null);
      entry.stamp = stampOf(stat);
    };
    await Promise.all([
      expect(data.path, data.kind === 'deleted'),
      data.from === undefined ? undefined : expect(data.from, true),
    ]);
    if (files.suppressed.size > 10_000) {
      for (const [path, entry] of files.suppressed) if (entry.until < Date.now()) files.suppressed.delete(path);
    }
  }

  /** Announces the directories a change had to create on the way. */
  private parentsCreated(projectId: string, files: ProjectFiles, principal: Principal) {
    return (parts: string[]) => void this.announce(projectId, files, principal, { path: relPath(parts), kind: 'created' });
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
    const files = await this.open(principal, projectId, 'write');
    const { ws } = files;
    if (content.length > this.limits.maxFileBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `A file may be at most ${this.limits.maxFileBytes} bytes`, {
        limit: this.limits.maxFileBytes,
      });
    }
    // Parents are created only after the checks below: resolve without creating first.
    const resolved = await ws.resolve(path, { followFinal: true, allowMissing: true });
    const key = `${projectId}:${relPath([...resolved.parts, ...resolved.missing])}`;
    return this.locks.run(key, async () => {
      const target = await prepareTarget(ws, path, {
        followFinal: true,
        createParents: true,
        onCreated: this.parentsCreated(projectId, files, principal),
      });
      const rel = relPath([...target.parent, target.name]);
      return ws
        .inDir(target.parent, async (dir) => {
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
          await this.announce(projectId, files, principal, { path: rel, kind: stat ? 'modified' : 'created' });
          return { path: rel, version: versionOf(content), size: content.length, created: stat === null };
        })
        .catch((err: unknown) => {
          throw ws.mapError(err, path);
        });
    });
  }

  async mkdir(principal: Principal, projectId: string, path: string): Promise<{ path: string; created: boolean }> {
    const files = await this.open(principal, projectId, 'write');
    const resolved = await files.ws.resolve(path, { followFinal: true, allowMissing: true });
    if (resolved.missing.length === 0) {
      if (resolved.stat?.isDirectory()) return { path: relPath(resolved.parts), created: false };
      throw new AppError('ALREADY_EXISTS', 'A file of that name exists', { path: relPath(resolved.parts) });
    }
    const target = await prepareTarget(files.ws, path, {
      followFinal: true,
      createParents: true,
      onCreated: this.parentsCreated(projectId, files, principal),
    });
    const rel = relPath([...target.parent, target.name]);
    await files.ws.inDir(target.parent, async (dir) => {
      await fs.mkdir(dir.at(target.name), 0o755);
      await fs.lchown(dir.at(target.name), SANDBOX_UID, SANDBOX_GID);
    }).catch((err: unknown) => {
      throw files.ws.mapError(err, path);
    });
    await this.announce(projectId, files, principal, { path: rel, kind: 'created' });
    return { path: rel, created: true };
  }

  async remove(principal: Principal, projectId: string, path: string, recursive: boolean): Promise<void> {
    const files = await this.open(principal, projectId, 'write');
    // The link itself goes, never what it points at.
    const resolved = await files.ws.resolve(path, { followFinal: false });
    if (resolved.parts.length === 0) throw new AppError('INVALID_PATH', 'The workspace root cannot be deleted', { path });
    const rel = relPath(resolved.parts);
    await files.ws.inDir(resolved.parts.slice(0, -1), (dir) => removeIn(dir, resolved.parts.at(-1)!, recursive)).catch((err: unknown) => {
      throw files.ws.mapError(err, path);
    });
    await this.announce(projectId, files, principal, { path: rel, kind: 'deleted' });
  }

  async move(
    principal: Principal,
    projectId: string,
    request: { from: string; to: string; overwrite: boolean },
  ): Promise<{ from: string; to: string }> {
    const files = await this.open(principal, projectId, 'write');
    const { ws } = files;
    const source = await ws.resolve(request.from, { followFinal: false });
    if (source.parts.length === 0) throw new AppError('INVALID_PATH', 'The workspace root cannot be moved', { path: request.from });
    const from = relPath(source.parts);
    const existing = await ws.resolve(request.to, { followFinal: false, allowMissing: true });
    if (existing.missing.length === 0 && !request.overwrite) {
      throw new AppError('ALREADY_EXISTS', 'Something exists at the destination; pass overwrite to replace it', {
        path: relPath(existing.parts),
      });
    }
    const target = await prepareTarget(ws, request.to, {
      followFinal: false,
      createParents: true,
      onCreated: this.parentsCreated(projectId, files, principal),
    });
    const to = relPath([...target.parent, target.name]);
    if (to === from) return { from, to };
    if (to.startsWith(from + '/')) throw new AppError('INVALID_PATH', 'A directory cannot be moved into itself', { path: request.to });
    await ws
      .inDir(source.parts.slice(0, -1), (fromDir) =>
        ws.inDir(target.parent, (toDir) => fs.rename(fromDir.at(source.parts.at(-1)!), toDir.at(target.name))),
      )
      .catch((err: unknown) => {
        throw ws.mapError(err, request.to);
      });
    await this.announce(projectId, files, principal, { path: to, kind: 'renamed', from });
    return { from, to };
  }

  async search(
    principal: Principal,
    projectId: string,
    options: { query: string; path: string; maxResults: number; caseSensitive: boolean; includeIgnored: boolean },
  ): Promise<{ matches: SearchMatch[]; truncated: boolean; filesSearched: number }> {
    const { ws } = await this.open(principal, projectId, 'read');
    const resolved = await ws.resolve(options.path, { followFinal: true });
    if (!resolved.stat?.isDirectory()) throw new AppError('INVALID_PATH', 'Not a directory', { path: options.path });
    return ws.inDir(resolved.parts, (dir) =>
      searchText(dir, {
        query: options.query,
        caseSensitive: options.caseSensitive,
        includeIgnored: options.includeIgnored,
        maxResults: Math.min(options.maxResults, this.limits.maxSearchResults),
        maxFileBytes: this.limits.maxSearchFileBytes,
      }),
    );
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

  /** Extracts a tar into a directory (created if need be); refused whole if any entry could lead outside. */
  async upload(
    principal: Principal,
    projectId: string,
    path: string,
    body: Buffer,
  ): Promise<{ path: string; files: number; directories: number; symlinks: number; bytes: number }> {
    const files = await this.open(principal, projectId, 'write');
    const { ws } = files;
    if (body.length > this.limits.maxArchiveBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `An archive may be at most ${this.limits.maxArchiveBytes} bytes`);
    }
    const probe = await ws.resolve(path, { followFinal: true, allowMissing: true });
    const destParts = [...probe.parts, ...probe.missing];
    if (probe.missing.length === 0 && !probe.stat?.isDirectory()) {
      throw new AppError('INVALID_PATH', 'Not a directory', { path });
    }
    const entries = await readArchive(body, destParts, {
      maxEntries: this.limits.maxArchiveEntries,
      maxExtractedBytes: this.limits.maxArchiveBytes,
    });
    const counts = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
    for (const entry of entries) {
      const userPath = relPath([...destParts, entry.name]);
      if (entry.type === 'directory') {
        const resolved = await ws.resolve(userPath, { followFinal: true, allowMissing: true });
        if (resolved.missing.length === 0) {
          if (!resolved.stat?.isDirectory()) throw new AppError('CONFLICT', 'A file is where the archive has a directory', { path: userPath });
          continue;
        }
        const target = await prepareTarget(ws, userPath, {
          followFinal: true,
          createParents: true,
          onCreated: this.parentsCreated(projectId, files, principal),
        });
        await ws.inDir(target.parent, async (dir) => {
          await fs.mkdir(dir.at(target.name), entry.mode);
          await fs.lchown(dir.at(target.name), SANDBOX_UID, SANDBOX_GID);
        });
        counts.directories += 1;
        await this.announce(projectId, files, principal, { path: relPath([...target.parent, target.name]), kind: 'created' });
        continue;
      }
      // Files and links replace what is at their path (a link there is replaced, not followed).
      const target = await prepareTarget(ws, userPath, {
        followFinal: false,
        createParents: true,
        onCreated: this.parentsCreated(projectId, files, principal),
      });
      const rel = relPath([...target.parent, target.name]);
      await ws
        .inDir(target.parent, async (dir) => {
          const stat = await lstatIn(dir, target.name);
          if (stat?.isDirectory()) throw new AppError('CONFLICT', 'A directory is where the archive has a file', { path: rel });
          if (entry.type === 'file') {
            await writeFileIn(dir, target.name, entry.data!, entry.mode);
            counts.files += 1;
            counts.bytes += entry.data!.length;
          } else {
            if (stat) await fs.unlink(dir.at(target.name));
            await fs.symlink(entry.linkname!, dir.at(target.name));
            await fs.lchown(dir.at(target.name), SANDBOX_UID, SANDBOX_GID);
            counts.symlinks += 1;
          }
          await this.announce(projectId, files, principal, { path: rel, kind: stat ? 'modified' : 'created' });
        })
        .catch((err: unknown) => {
          throw ws.mapError(err, userPath);
        });
    }
    return { path: relPath(destParts), ...counts };
  }
}
