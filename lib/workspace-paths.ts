/**
 * Paths a user or an agent supplies, resolved to host paths inside a project's workspace exactly as the
 * sandbox would see them: symlinks are followed only while they stay inside /workspace, and every
 * directory is opened and checked (through /proc/self/fd) before anything is read or written in it, so a
 * sandbox that swaps a directory for a symlink mid-request cannot steer the API (root on the host) outside.
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from './errors.js';

/** Where the workspace is inside the sandbox: absolute symlink targets are container paths. */
export const CONTAINER_WORKSPACE = '/workspace';
export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;
const MAX_SYMLINK_HOPS = 40;

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

function outside(input: string): AppError {
  return new AppError('PATH_OUTSIDE_WORKSPACE', 'The path leads outside the workspace', { path: input });
}

/** Splits a user path into workspace-relative components ([] is the workspace root), refusing what may not be. */
export function parseUserPath(input: string): string[] {
  if (input.includes('\0')) throw new AppError('INVALID_PATH', 'A path may not contain a NUL byte');
  if (Buffer.byteLength(input) > MAX_PATH_BYTES) {
    throw new AppError('INVALID_PATH', `A path may be at most ${MAX_PATH_BYTES} bytes long`);
  }
  if (input.startsWith('/')) {
    throw new AppError('INVALID_PATH', 'Paths are relative to the workspace root (/workspace), not absolute', { path: input });
  }
  const parts: string[] = [];
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw outside(input);
      parts.pop();
      continue;
    }
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) {
      throw new AppError('INVALID_PATH', `A file name may be at most ${MAX_NAME_BYTES} bytes long`);
    }
    parts.push(part);
  }
  return parts;
}

export interface Resolved {
  /** The real location, workspace-relative: in-workspace symlinks followed, never a symlink as a directory. */
  parts: string[];
  /** Components still to create below `parts` (only with `allowMissing`); empty when the path exists. */
  missing: string[];
  /** lstat of the final component; null when it does not exist. */
  stat: Stats | null;
}

export interface ResolveOptions {
  /** Follow a symlink in the last component (reads and writes do; delete, move and listing entries do not). */
  followFinal?: boolean;
  /** Let the path (and directories above it) be absent; otherwise FILE_NOT_FOUND. */
  allowMissing?: boolean;
}

export function relPath(parts: readonly string[]): string {
  return parts.join('/');
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** A directory opened and verified to be where it was resolved; names under it are reached through its fd. */
export class DirHandle {
  constructor(
    private readonly handle: FileHandle,
    readonly parts: string[],
  ) {}

  /** A path that the kernel resolves through the open directory itself, whatever happened to its name since. */
  at(name: string): string {
    return `/proc/self/fd/${this.handle.fd}/${name}`;
  }

  get self(): string {
    return `/proc/self/fd/${this.handle.fd}`;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

export class Workspace {
  /** @param root the host directory behind /workspace, already a real path (no symlink in it). */
  constructor(readonly root: string) {}

  hostPath(parts: readonly string[]): string {
    return parts.length === 0 ? this.root : path.join(this.root, ...parts);
  }

  contains(realPath: string): boolean {
    return realPath === this.root || realPath.startsWith(this.root + '/');
  }

  /** Resolves a user path component by component, following symlinks only while they stay inside. */
  async resolve(input: string, options: ResolveOptions = {}): Promise<Resolved> {
    const remaining = parseUserPath(input);
    const parts: string[] = [];
    let hops = 0;
    while (remaining.length > 0) {
      const name = remaining.shift()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        // Only reached from symlink targets: `parts` holds real directories, so their parent is one up.
        if (parts.length === 0) throw outside(input);
        parts.pop();
        continue;
      }
      let stat: Stats;
      try {
        stat = await fs.lstat(this.hostPath([...parts, name]));
      } catch (err) {
        const code = errno(err);
        if (code !== 'ENOENT') throw this.mapError(err, input);
        if (options.allowMissing && !remaining.includes('..')) {
          return { parts, missing: [name, ...remaining.filter((p) => p !== '' && p !== '.')], stat: null };
        }
        throw new AppError('FILE_NOT_FOUND', 'No such file or directory', { path: input });
      }
      const isLast = remaining.length === 0;
      if (stat.isSymbolicLink() && (!isLast || options.followFinal)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new AppError('INVALID_PATH', 'Too many levels of symbolic links', { path: input });
        const target = await fs.readlink(this.hostPath([...parts, name]));
        if (target.startsWith('/')) {
          // A container path: only /workspace/... exists for us, and it is our root.
          const segments = target.split('/').filter((s) => s !== '' && s !== '.');
          if (segments[0] !== CONTAINER_WORKSPACE.slice(1)) throw outside(input);
          parts.length = 0;
          remaining.unshift(...segments.slice(1));
        } else {
          remaining.unshift(...target.split('/'));
        }
        continue;
      }
      if (!isLast && !stat.isDirectory()) {
        throw new AppError('INVALID_PATH', `"${relPath([...parts, name])}" is not a directory`, { path: input });
      }
      parts.push(name);
      if (isLast) return { parts, missing: [], stat };
    }
    // The root itself (or a symlink chain that ends there).
    return { parts, missing: [], stat: await fs.lstat(this.hostPath(parts)) };
  }

  /** Opens a directory of the workspace without following a final symlink, and checks where it really is. */
  async openDir(parts: string[]): Promise<DirHandle> {
    let handle: FileHandle;
    try {
      handle = await fs.open(this.hostPath(parts), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      throw this.mapError(err, relPath(parts));
    }
    try {
      const real = await fs.realpath(`/proc/self/fd/${handle.fd}`);
      if (!this.contains(real)) throw outside(relPath(parts));
      if (real !== this.hostPath(parts)) {
        throw new AppError('CONFLICT', 'The workspace changed during the request; try again', { path: relPath(parts) });
      }
      return new DirHandle(handle, parts);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Runs `work` with the directory open, closing it whatever happens. */
  async inDir<T>(parts: string[], work: (dir: DirHandle) => Promise<T>): Promise<T> {
    const dir = await this.openDir(parts);
    try {
      return await work(dir);
    } finally {
      await dir.close();
    }
  }

  /** File system errors as the API's errors; anything unexpected is rethrown as is. */
  mapError(err: unknown, input: string): unknown {
    switch (errno(err)) {
      case 'ENOENT':
        return new AppError('FILE_NOT_FOUND', 'No such file or directory', { path: input });
      case 'ELOOP':
      case 'ENOTDIR':
        return new AppError('INVALID_PATH', 'A component of the path is not a directory', { path: input });
      case 'ENAMETOOLONG':
        return new AppError('INVALID_PATH', 'The path is too long', { path: input });
      case 'EEXIST':
        return new AppError('ALREADY_EXISTS', 'The path exists already', { path: input });
      case 'ENOTEMPTY':
        return new AppError('CONFLICT', 'The directory is not empty', { path: input });
      case 'EISDIR':
        return new AppError('CONFLICT', 'The path is a directory', { path: input });
      case 'EINVAL':
        return new AppError('INVALID_PATH', 'A directory cannot be moved into itself', { path: input });
      case 'EPERM':
      case 'EACCES':
        // Not the sandbox's doing (the API is root): an attribute such as immutable, set on the host.
        return new AppError('CONFLICT', 'The workspace does not allow this change here (a file attribute)', { path: input });
      case 'ENOSPC':
      case 'EDQUOT':
        return new AppError('QUOTA_EXCEEDED', "The project's disk is full (SANDBOX_DISK_MB): delete files to make room", {
          path: input,
        });
      default:
        return err;
    }
  }
}
