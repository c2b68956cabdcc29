/**
 * The few file system operations the files service is made of, each done through verified directory
 * handles (see lib/workspace-paths.ts) and leaving what it creates owned by the sandbox user.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fs, type Stats } from 'node:fs';
import { AppError } from '../../lib/errors.js';
import { DirHandle, type Workspace } from '../../lib/workspace-paths.js';

/** The sandbox user: everything the API creates must be theirs to change. */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** A file's version: the start of its content's SHA-256, the same for the same bytes wherever they are. */
export function versionOf(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

/** Reads a regular file in `dir` (never a symlink, FIFO or device), refusing one larger than `maxBytes`. */
export async function readFileIn(dir: DirHandle, name: string, maxBytes: number): Promise<Buffer> {
  // O_NONBLOCK: a FIFO planted by the sandbox must not hang the request.
  const handle = await fs.open(dir.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AppError('INVALID_PATH', 'Not a regular file', { path: name });
    if (stat.size > maxBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `The file is larger than ${maxBytes} bytes; download it as an archive`, {
        size: stat.size,
        limit: maxBytes,
      });
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Writes `name` in `dir` atomically (a temporary file renamed over it), keeping an existing file's mode. */
export async function writeFileIn(dir: DirHandle, name: string, content: Buffer, mode: number): Promise<void> {
  const temp = dir.at(`.vf-${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(content);
    await handle.chown(SANDBOX_UID, SANDBOX_GID);
    await handle.chmod(mode & 0o777);
  } catch (err) {
    await handle.close();
    await fs.unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(temp, dir.at(name));
  } catch (err) {
    await fs.unlink(temp).catch(() => {});
    throw err;
  }
}

/** lstat of a name in a verified directory (never follows it). */
export async function lstatIn(dir: DirHandle, name: string): Promise<Stats | null> {
  try {
    return await fs.lstat(dir.at(name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Creates the missing directories below `parts`, one by one; returns the parts of the deepest one. */
export async function makeDirs(
  ws: Workspace,
  parts: string[],
  missing: string[],
  onCreated?: (parts: string[]) => void,
): Promise<string[]> {
  let current = parts;
  for (const name of missing) {
    await ws.inDir(current, async (dir) => {
      try {
        await fs.mkdir(dir.at(name), 0o755);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ws.mapError(err, name);
        const stat = await lstatIn(dir, name);
        if (!stat?.isDirectory()) throw new AppError('ALREADY_EXISTS', 'A file of that name exists', { path: name });
        return;
      }
      await fs.lchown(dir.at(name), SANDBOX_UID, SANDBOX_GID);
      onCreated?.([...current, name]);
    });
    current = [...current, name];
  }
  return current;
}

/** Removes a name in `dir`, a whole tree if asked, never following a symlink (they are removed, not entered). */
export async function removeIn(dir: DirHandle, name: string, recursive: boolean): Promise<void> {
  const stat = await fs.lstat(dir.at(name));
  if (!stat.isDirectory()) {
    await fs.unlink(dir.at(name));
    return;
  }
  if (recursive) {
    // Opened without following, then emptied through its own fd: a swap mid-way cannot redirect it.
    const child = await openChildDir(dir, name);
    try {
      for (const entry of await fs.readdir(child.self)) await removeIn(child, entry, true);
    } finally {
      await child.close();
    }
  }
  await fs.rmdir(dir.at(name));
}

/** Opens a subdirectory of a verified directory without following a symlink. */
export async function openChildDir(dir: DirHandle, name: string): Promise<DirHandle> {
  const handle = await fs.open(dir.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  return new DirHandle(handle, [...dir.parts, name]);
}

/**
 * Removes directories made for a change that then failed, deepest first; stops quietly at one that is no
 * longer empty (or gone): someone else uses it now.
 */
export async function removeDirs(ws: Workspace, dirs: string[][]): Promise<void> {
  for (const parts of [...dirs].reverse()) {
    try {
      await ws.inDir(parts.slice(0, -1), (dir) => fs.rmdir(dir.at(parts.at(-1)!)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'ENOENT' || code === 'FILE_NOT_FOUND') return;
      throw err;
    }
  }
}

export interface Target {
  /** The real directory the name goes in. */
  parent: string[];
  name: string;
  /** lstat of what is there now; null when nothing is. */
  stat: Stats | null;
  /** Directories made on the way, outermost first: to announce once the change is made, or remove if it fails. */
  created: string[][];
}

/**
 * Where a path to be created or replaced goes: its real parent directory (created if `createParents`) and
 * its name. The workspace root itself is never a target.
 */
export async function prepareTarget(
  ws: Workspace,
  input: string,
  options: { followFinal: boolean; createParents: boolean },
): Promise<Target> {
  const resolved = await ws.resolve(input, { allowMissing: true, followFinal: options.followFinal });
  if (resolved.missing.length > 0) {
    if (resolved.missing.length > 1 && !options.createParents) {
      throw new AppError('FILE_NOT_FOUND', 'The parent directory does not exist', { path: input });
    }
    const created: string[][] = [];
    try {
      const parent = await makeDirs(ws, resolved.parts, resolved.missing.slice(0, -1), (parts) => created.push(parts));
      return { parent, name: resolved.missing.at(-1)!, stat: null, created };
    } catch (err) {
      await removeDirs(ws, created);
      throw ws.mapError(err, input);
    }
  }
  if (resolved.parts.length === 0) throw new AppError('INVALID_PATH', 'The workspace root cannot be replaced', { path: input });
  return { parent: resolved.parts.slice(0, -1), name: resolved.parts.at(-1)!, stat: resolved.stat, created: [] };
}
