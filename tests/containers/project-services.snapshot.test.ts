/**
 * Deleting a project saves its services' data beside its workspace snapshot: `<time>.postgres.dump` (pg_dump's custom
 * format, taken even from a stopped PostgreSQL, restored with pg_restore into a fresh database) and `<time>.redis.rdb`;
 * a dump that fails is reported and loses neither the workspace snapshot nor the deletion.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import tar from 'tar-stream';
import { sandboxNames } from '../../services/containers/sandbox-spec.js';
import { sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('project-snapshot');

/** A command in a project's PostgreSQL container as the postgres user (superuser over the local socket). */
async function inPostgres(projectId: string, cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const docker = suite.app.infra.docker;
  const exec = await docker.getContainer(sandboxNames(projectId).postgresContainer).exec({
    Cmd: cmd,
    User: '999:999',
    Env: ['PGHOST=/run/postgresql', 'PGUSER=postgres'],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({});
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) => new Writable({ write: (chunk: Buffer, _e, done) => (into.push(chunk), done()) });
  docker.modem.demuxStream(stream, sink(out), sink(err));
  await new Promise((resolve) => stream.on('end', resolve).on('close', resolve));
  return { exitCode: (await exec.inspect()).ExitCode ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

async function psql(projectId: string, database: string, sql: string): Promise<string> {
  const result = await inPostgres(projectId, ['psql', '-v', 'ON_ERROR_STOP=1', '-At', '-d', database, '-c', sql]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout.trim();
}

async function read(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await suite.app.infra.objects.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function create(services: { postgres?: boolean; redis?: boolean }): Promise<string> {
  const created = await suite.api.post('/api/v1/projects', { token: suite.owner.accessToken, body: { name: 'snapshot', stack: 'node', services } });
  expect(created.status, created.text).toBe(201);
  return created.body.id;
}

async function remove(projectId: string): Promise<void> {
  const deleted = await suite.api.delete(`/api/v1/projects/${projectId}`, { token: suite.owner.accessToken });
  expect(deleted.status, deleted.text).toBe(204);
}

describe('project services in the deletion snapshot', () => {
  let dump: Buffer = Buffer.alloc(0);

  it('saves the PostgreSQL (stopped with its sandbox) and the Redis data beside the workspace, under the same time', { timeout: 120_000 }, async () => {
    const id = await create({ postgres: true, redis: true });
    await sh(suite.api, suite.owner, id, 'echo kept > notes.txt');
    await psql(id, 'app', "SET ROLE app; CREATE TABLE books (isbn text PRIMARY KEY, title text NOT NULL); INSERT INTO books VALUES ('978-0', 'Dune'), ('978-1', 'Emma')");
    // Stopped (with its sandbox) before the deletion: the dump starts it again.
    const stopped = await suite.api.post(`/api/v1/projects/${id}/sandbox/stop`, { token: suite.owner.accessToken });
    expect(stopped.status, stopped.text).toBe(200);

    await remove(id);
    const keys = await suite.app.infra.objects.list(`snapshots/${id}/`);
    expect(keys).toHaveLength(3);
    const workspace = keys.find((key) => key.endsWith('.tar'))!;
    expect(workspace).toMatch(new RegExp(`^snapshots/${id}/[^/.]+\\.tar$`));
    const base = workspace.slice(0, -'.tar'.length);
    expect(keys.sort()).toEqual([`${base}.postgres.dump`, `${base}.redis.rdb`, workspace].sort());
    expect((await read(workspace)).includes(Buffer.from('kept\n'))).toBe(true);
    dump = await read(`${base}.postgres.dump`);
    expect(dump.subarray(0, 5).toString('latin1')).toBe('PGDMP'); // pg_dump's custom format
    expect((await read(`${base}.redis.rdb`)).subarray(0, 5).toString('latin1')).toBe('REDIS');
    expect(suite.app.backgroundErrors).toEqual([]);
  });

  it('restores with pg_restore into a fresh database', { timeout: 120_000 }, async () => {
    expect(dump.length).toBeGreaterThan(0);
    const other = await create({ postgres: true });
    await sh(suite.api, suite.owner, other, 'true');
    const pack = tar.pack();
    pack.entry({ name: 'restore.dump', mode: 0o400, uid: 999, gid: 999 }, dump);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    await suite.app.infra.docker.getContainer(sandboxNames(other).postgresContainer).putArchive(Buffer.concat(chunks), { path: '/var/lib/postgresql' });

    await psql(other, 'postgres', 'CREATE DATABASE restored');
    const restored = await inPostgres(other, ['pg_restore', '--exit-on-error', '--no-owner', '-d', 'restored', '/var/lib/postgresql/restore.dump']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await psql(other, 'restored', 'SELECT isbn, title FROM books ORDER BY isbn')).toBe('978-0|Dune\n978-1|Emma');
    await remove(other);
  });

  it('a dump that cannot be stored is reported; the workspace snapshot and the deletion go ahead', { timeout: 120_000 }, async () => {
    const id = await create({ postgres: true });
    await sh(suite.api, suite.owner, id, 'echo kept > notes.txt');
    const objects = suite.app.infra.objects;
    const put = objects.put.bind(objects);
    objects.put = async (key, body) => {
      if (key.endsWith('.postgres.dump')) throw new Error('the store refused the dump');
      return put(key, body);
    };
    try {
      await remove(id);
    } finally {
      objects.put = put;
    }
    expect(await objects.list(`snapshots/${id}/`)).toEqual([expect.stringMatching(new RegExp(`^snapshots/${id}/[^/.]+\\.tar$`))]);
    const errors = suite.app.backgroundErrors.splice(0);
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toContain('PostgreSQL');
    expect(JSON.stringify((errors[0] as { details?: unknown }).details)).toContain('the store refused the dump');
    expect(await suite.api.get(`/api/v1/projects/${id}`, { token: suite.owner.accessToken }).then((r) => r.status)).toBe(404);
  });
});
