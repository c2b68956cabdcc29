/** Building and reading tar archives in tests, entry by entry (so that hostile entries can be made too). */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    await new Promise<void>((resolve, reject) => {
      const header = { name: entry.name, type, linkname: entry.linkname, mode: entry.mode };
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, Buffer.from(entry.content ?? ''), done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  await collecting;
  return Buffer.concat(chunks);
}

export async function readTar(body: Buffer): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const extract = tar.extract();
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const type = entry.header.type as TarEntry['type'];
      entries.set(entry.header.name.replace(/\/$/, ''), {
        name: entry.header.name,
        type,
        content: Buffer.concat(chunks),
        linkname: entry.header.linkname ?? undefined,
      });
    }
  })();
  await Promise.all([pipeline(Readable.from([body]), extract), reading]);
  return entries;
}
