/**
 * Tar archives of workspace directories: packed as a stream for download; for upload, read whole and checked
 * whole (no entry may lead outside, by its name or through a link, and every entry counts against the limits)
 * into the tree it makes, which archive-extract.ts then puts in place.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { AppError } from '../../lib/errors.js';
import { walk } from './tree.js';
import { CONTAINER_WORKSPACE, MAX_NAME_BYTES, MAX_PATH_BYTES, type DirHandle } from '../../lib/workspace-paths.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** An archive as the tree it would make below the directory it is extracted in. */
export interface ArchiveNode {
  type: 'directory' | 'file' | 'symlink';
  mode: number;
  /** Files: the content. */
  data?: Buffer;
  /** Symlinks: the target, as the sandbox will read it. */
  linkname?: string;
  /** Directories: what is below, by name. */
  children?: Map<string, ArchiveNode>;
}

export interface ArchiveLimits {
  maxEntries: number;
  maxExtractedBytes: number;
}

function refuse(entry: string, why: string): AppError {
  return new AppError('INVALID_PATH', `The archive entry "${entry}" is refused: ${why}`, { entry });
}

/** An entry name as a normalised relative path; refuses absolute names, `..`, NUL and overlong names. */
function entryName(raw: string): string {
  if (raw.includes('\0')) throw refuse(raw, 'it contains a NUL byte');
  if (raw.startsWith('/')) throw refuse(raw, 'absolute names are not accepted');
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) throw refuse(raw.slice(0, 100), 'the name is too long');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  for (const part of parts) {
    if (part === '..') throw refuse(raw, '".." is not accepted');
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) throw refuse(raw.slice(0, 100), 'a name is too long');
  }
  return parts.join('/');
}

/** A symlink target must stay inside /workspace once the sandbox resolves it from where the link will be. */
function checkLinkTarget(name: string, linkname: string, destParts: string[]): void {
  if (linkname.includes('\0') || linkname === '') throw refuse(name, 'the link target is empty or has a NUL byte');
  const from = path.posix.join(CONTAINER_WORKSPACE, ...destParts, path.posix.dirname(name));
  const target = path.posix.resolve(from, linkname);
  if (target !== CONTAINER_WORKSPACE && !target.startsWith(CONTAINER_WORKSPACE + '/')) {
    throw refuse(name, `the link points outside the workspace (${linkname})`);
  }
}

function directory(): ArchiveNode {
  return { type: 'directory', mode: 0o755, children: new Map() };
}

/**
 * Puts an entry in the tree. Nothing may go through a file or link of the archive (a symlink entry followed by
 * an entry below it would otherwise place that one wherever the link points), and a name is a directory or
 * not, never both; a later file or link replaces an earlier one, as tar does.
 */
function place(root: ArchiveNode, name: string, node: ArchiveNode, raw: string): void {
  const parts = name.split('/');
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    let child = dir.children!.get(part);
    if (!child) dir.children!.set(part, (child = directory()));
    if (child.type !== 'directory') throw refuse(raw, `"${part}" is a file or link of this archive, not a directory`);
    dir = child;
  }
  const last = parts.at(-1)!;
  const existing = dir.children!.get(last);
  if (existing?.type === 'directory' || (existing && node.type === 'directory')) {
    if (existing.type === node.type) return;
    throw refuse(raw, 'the archive has both a directory and a file or link of that name');
  }
  dir.children!.set(last, node);
}

/**
 * Reads and checks a whole archive into the tree it would make; throws on the first refused entry, before
 * anything is written. Every entry counts against the limits, hard links (copies) included.
 */
export async function readArchive(body: Buffer, destParts: string[], limits: ArchiveLimits): Promise<ArchiveNode> {
  const root = directory();
  const files = new Map<string, ArchiveNode>();
  let count = 0;
  let total = 0;
  const extract = tar.extract();
  const reading = (async () => {
    for await (const entry of extract) {
      const header = entry.header;
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (++count > limits.maxEntries) {
        throw new AppError('PAYLOAD_TOO_LARGE', `An archive may hold at most ${limits.maxEntries} entries`);
      }
      const name = entryName(header.name);
      const mode = (header.mode ?? 0o644) & 0o777;
      let node: ArchiveNode;
      switch (header.type) {
        case 'file':
        case 'contiguous-file':
          node = { type: 'file', mode, data: Buffer.concat(chunks) };
          break;
        case 'directory':
          if (name === '') continue;
          node = directory();
          break;
        case 'symlink':
          checkLinkTarget(header.name, header.linkname ?? '', destParts);
          node = { type: 'symlink', mode: 0o777, linkname: header.linkname! };
          break;
        case 'link': {
          // A hard link becomes a copy of a file of this same archive; anything else could reach the host.
          const source = files.get(entryName(header.linkname ?? ''));
          if (!source) throw refuse(header.name, 'a hard link may only point at a file earlier in the archive');
          node = { type: 'file', mode: source.mode, data: source.data! };
          break;
        }
        default:
          throw refuse(header.name, `entries of type ${header.type ?? 'unknown'} are not accepted`);
      }
      if (name === '') throw refuse(header.name, 'a file or link cannot replace the directory itself');
      total += node.data?.length ?? 0;
      if (total > limits.maxExtractedBytes) {
        throw new AppError('PAYLOAD_TOO_LARGE', `An archive may extract to at most ${limits.maxExtractedBytes} bytes`);
      }
      place(root, name, node, header.name);
      if (node.type === 'file') files.set(name, node);
      else files.delete(name);
    }
  })();
  try {
    await Promise.all([pipeline(Readable.from([body]), extract), reading]);
  } catch (err) {
    extract.destroy();
    if (err instanceof AppError) throw err;
    throw new AppError('VALIDATION_FAILED', `The body is not a valid tar archive: ${(err as Error).message}`);
  }
  return root;
}

/** Adds one entry; a file's content is written from `source`, waiting when the reader is slower. */
async function addEntry(pack: tar.Pack, header: Parameters<tar.Pack['entry']>[0], source?: AsyncIterable<Buffer>): Promise<void> {
  let sink!: ReturnType<tar.Pack['entry']>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  if (header.type === 'file') {
    // streamx's writable, seen as Node's: `write` returns false when the reader is behind, and 'drain' follows.
    const writable = sink as unknown as NodeJS.WritableStream;
    for await (const chunk of source ?? []) {
      if (!writable.write(chunk)) await new Promise((resolve) => writable.once('drain', resolve));
    }
    writable.end();
  }
  await done;
}

/** Streams a tar of everything below a verified directory (symlinks as links, never followed). */
export function packDirectory(root: DirHandle, includeIgnored: boolean, onError: (err: unknown) => void): Readable {
  const pack = tar.pack();
  const prefix = root.parts.length;
  void (async () => {
    await walk(root, { includeIgnored, maxDepth: 256 }, async ({ dir, name, stat }) => {
      const entryPath = [...dir.parts.slice(prefix), name].join('/');
      const base = { mode: stat.mode & 0o777, mtime: stat.mtime, uid: 1000, gid: 1000 };
      if (stat.isDirectory()) {
        await addEntry(pack, { ...base, name: entryPath + '/', type: 'directory' });
      } else if (stat.isSymbolicLink()) {
        const linkname = await fs.readlink(dir.at(name));
        await addEntry(pack, { ...base, name: entryPath, type: 'symlink', linkname });
      } else if (stat.isFile()) {
        const handle = await fs.open(dir.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch(() => null);
        if (!handle) return true; // gone meanwhile
        try {
          const current = await handle.stat();
          if (!current.isFile()) return true;
          const header = { ...base, name: entryPath, type: 'file' as const, size: current.size };
          if (current.size === 0) await addEntry(pack, header);
          else await addEntry(pack, header, handle.createReadStream({ start: 0, end: current.size - 1, autoClose: false }));
        } finally {
          await handle.close();
        }
      }
      return true;
    });
    pack.finalize();
  })().catch((err: unknown) => {
    onError(err);
    pack.destroy(err as Error);
  });
  return pack as unknown as Readable;
}
