/**
 * A project's own PostgreSQL (its `services.postgres` setting): the app in the sandbox reaches it with DATABASE_URL,
 * its data outlives the sandbox's restarts and the setting's being turned off, nobody else reaches it (another
 * project's sandbox, the host through a published port), it is hardened, and it goes with its project.
 */
import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { sandboxNames } from '../../services/containers/sandbox-spec.js';
import { signUp } from '../helpers/http.js';
import { CONNECT_SCRIPT, expectConfinedService, expectOnlyItsProjectReaches, inspectContainer, volumeExists as volumeIn } from '../helpers/project-services.js';
import { exec, sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('project-pg');

/** Connects with DATABASE_URL and runs one statement; prints the rows as JSON. */
const QUERY_SCRIPT = `
const { Client } = require('pg');
const client = new Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
client.connect()
  .then(() => client.query(process.argv[2]))
  .then((result) => { console.log(JSON.stringify(result.rows)); return client.end(); })
  .catch((err) => { console.error(err.message); process.exit(1); });
`;

async function createWithPostgres(): Promise<string> {
  const created = await suite.api.post('/api/v1/projects', {
    token: suite.owner.accessToken,
    body: { name: 'with postgres', stack: 'node', services: { postgres: true } },
  });
  expect(created.status, created.text).toBe(201);
  expect(created.body.services).toEqual({ postgres: true, redis: false });
  return created.body.id;
}

async function query(projectId: string, sql: string): Promise<unknown> {
  const result = await exec(suite.api, suite.owner, projectId, ['node', 'pgcheck/query.js', sql], { timeoutMs: 30_000 });
  expect(result.exitCode, `${sql}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout);
}

function inspect(name: string): Promise<Docker.ContainerInspectInfo | null> {
  return inspectContainer(suite.app.infra.docker, name);
}

function volumeExists(name: string): Promise<boolean> {
  return volumeIn(suite.app.infra.docker, name);
}

async function setPostgres(projectId: string, postgres: boolean): Promise<void> {
  const patched = await suite.api.patch(`/api/v1/projects/${projectId}`, { token: suite.owner.accessToken, body: { services: { postgres } } });
  expect(patched.status, patched.text).toBe(200);
  expect(patched.body.services).toEqual({ postgres, redis: false });
}

describe('project PostgreSQL', () => {
  let id = '';
  let password = '';

  it('is reached from the sandbox with DATABASE_URL; its data survives a restart of the sandbox', { timeout: 240_000 }, async () => {
    id = await createWithPostgres();
    password = suite.app.services.sandboxes.postgresEnv(id).PGPASSWORD!;
    expect(password).toMatch(/^[0-9a-f]{64}$/);
    expect(await sh(suite.api, suite.owner, id, 'echo "$PGHOST $PGPORT $PGUSER $PGDATABASE"')).toBe('postgres 5432 app app');
    expect(await sh(suite.api, suite.owner, id, 'echo "$DATABASE_URL"')).toBe(`postgres://app:${password}@postgres:5432/app`);

    const install = await exec(
      suite.api,
      suite.owner,
      id,
      'mkdir -p pgcheck && cd pgcheck && npm init -y >/dev/null && npm install --no-audit --no-fund pg@8',
      { timeoutMs: 150_000 },
    );
    expect(install.exitCode, install.stderr).toBe(0);
    await exec(suite.api, suite.owner, id, ['sh', '-c', 'cat > pgcheck/query.js'], { stdin: QUERY_SCRIPT });

    await query(id, 'CREATE TABLE books (isbn text PRIMARY KEY, title text NOT NULL)');
    await query(id, "INSERT INTO books VALUES ('978-0', 'Dune'), ('978-1', 'Emma')");
    expect(await query(id, 'SELECT isbn, title FROM books ORDER BY isbn')).toEqual([
      { isbn: '978-0', title: 'Dune' },
      { isbn: '978-1', title: 'Emma' },
    ]);
    expect(await query(id, 'SELECT current_user AS who, rolsuper FROM pg_roles WHERE rolname = current_user')).toEqual([
      { who: 'app', rolsuper: false },
    ]);

    const restarted = await suite.api.post(`/api/v1/projects/${id}/sandbox/restart`, { token: suite.owner.accessToken });
    expect(restarted.status, restarted.text).toBe(200);
    expect((await inspect(sandboxNames(id).postgresContainer))?.State.Running).toBe(true);
    expect(await query(id, 'SELECT count(*)::int AS n FROM books')).toEqual([{ n: 2 }]);
  });

  it('is hardened, on the project network only, with no published port and no password in any configuration', async () => {
    const names = sandboxNames(id);
    await expectConfinedService(
      suite.app.infra.docker,
      { projectId: id, container: names.postgresContainer, volume: names.postgresVolume, role: 'postgres', host: 'postgres', password },
      { memoryBytes: 256 * 1024 * 1024, cpus: 0.5, pids: 128, tmpfs: ['/run/postgresql', '/tmp'] },
    );
    // PID 1 and its backends.
    const top = (await suite.app.infra.docker.getContainer(names.postgresContainer).top({ ps_args: '-o pid' })) as { Processes: string[][] };
    expect(top.Processes.length).toBeGreaterThan(1);
  });

  it("cannot be reached from another project's sandbox", { timeout: 60_000 }, async () => {
    await expectOnlyItsProjectReaches(suite, {
      projectId: id,
      container: sandboxNames(id).postgresContainer,
      host: 'postgres',
      port: 5432,
      variables: ['DATABASE_URL', 'PGPASSWORD'],
    });
  });

  it('a secret of the same name wins over the service\'s variable; the caller\'s own env wins over both', async () => {
    const put = await suite.api.post(`/api/v1/projects/${id}/secrets`, { token: suite.owner.accessToken, body: { name: 'PGDATABASE', value: 'elsewhere' } });
    expect(put.status, put.text).toBe(201);
    // (Compared in the sandbox: a secret's value is redacted from output.)
    expect(await sh(suite.api, suite.owner, id, 'test "$PGDATABASE" = elsewhere && echo "secret $PGUSER"')).toBe('secret app');
    const given = await exec(suite.api, suite.owner, id, 'echo "$PGDATABASE"', { env: { PGDATABASE: 'mine' } });
    expect(given.stdout.trim()).toBe('mine');
    const removed = await suite.api.delete(`/api/v1/projects/${id}/secrets/PGDATABASE`, { token: suite.owner.accessToken });
    expect(removed.status).toBeLessThan(300);
  });

  it('turned off: its container goes, its data stays for when it is turned on again', { timeout: 120_000 }, async () => {
    const names = sandboxNames(id);
    await setPostgres(id, false);
    expect(await inspect(names.postgresContainer)).toBeNull();
    expect(await volumeExists(names.postgresVolume)).toBe(true);
    expect(await sh(suite.api, suite.owner, id, 'echo "${DATABASE_URL:-none}"')).toBe('none');

    await setPostgres(id, true);
    expect((await inspect(names.postgresContainer))?.State.Running).toBe(true);
    expect(await query(id, 'SELECT title FROM books ORDER BY isbn')).toEqual([{ title: 'Dune' }, { title: 'Emma' }]);
  });

  it('is paused and stopped with the sandbox', { timeout: 60_000 }, async () => {
    const names = sandboxNames(id);
    await suite.app.services.sandboxes.pause(id);
    expect((await inspect(names.postgresContainer))?.State.Paused).toBe(true);
    expect(await query(id, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect((await inspect(names.postgresContainer))?.State.Paused).toBe(false);
    const stopped = await suite.api.post(`/api/v1/projects/${id}/sandbox/stop`, { token: suite.owner.accessToken });
    expect(stopped.status).toBe(200);
    expect((await inspect(names.postgresContainer))?.State.Running).toBe(false);
    expect(await query(id, 'SELECT count(*)::int AS n FROM books')).toEqual([{ n: 2 }]);
  });

  it('another user cannot see or toggle it; bad input is VALIDATION_FAILED', async () => {
    const stranger = await signUp(suite.api, 'project-pg-stranger');
    const foreign = await suite.api.patch(`/api/v1/projects/${id}`, { token: stranger.accessToken, body: { services: { postgres: false } } });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('PROJECT_NOT_FOUND');
    expect((await inspect(sandboxNames(id).postgresContainer))?.State.Running).toBe(true);

    for (const services of [{ postgres: 'maybe' }, { mongodb: true }, {}, 'yes', null, { postgres: 'on' }, { redis: 'maybe' }]) {
      const patched = await suite.api.patch(`/api/v1/projects/${id}`, { token: suite.owner.accessToken, body: { services } });
      expect(patched.status, JSON.stringify(services)).toBe(400);
      expect(patched.body.error.code).toBe('VALIDATION_FAILED');
      const created = await suite.api.post('/api/v1/projects', { token: suite.owner.accessToken, body: { name: 'bad', stack: 'node', services } });
      expect(created.status, JSON.stringify(services)).toBe(400);
      expect(created.body.error.code).toBe('VALIDATION_FAILED');
    }
    const got = await suite.api.get(`/api/v1/projects/${id}`, { token: suite.owner.accessToken });
    expect(got.body.services).toEqual({ postgres: true, redis: false });
  });

  it('goes with its project, container and data', { timeout: 60_000 }, async () => {
    const names = sandboxNames(id);
    const deleted = await suite.api.delete(`/api/v1/projects/${id}`, { token: suite.owner.accessToken });
    expect(deleted.status).toBe(204);
    expect(await inspect(names.postgresContainer)).toBeNull();
    expect(await volumeExists(names.postgresVolume)).toBe(false);
  });

  it('turned on in a running sandbox whose network predates it (containers kept apart): the network is made anew', { timeout: 120_000 }, async () => {
    const docker = suite.app.infra.docker;
    const old = await suite.project('node');
    await sh(suite.api, suite.owner, old, 'true');
    const names = sandboxNames(old);
    // The network as it was made before project services: enable_icc false.
    const network = docker.getNetwork(names.network);
    const before = (await network.inspect()) as { Labels: Record<string, string>; IPAM: { Config: Array<{ Subnet: string; Gateway: string }> } };
    const sandbox = (await inspect(names.container))!.Id;
    await network.disconnect({ Container: sandbox, Force: true });
    await network.remove();
    await docker.createNetwork({
      Name: names.network,
      Driver: 'bridge',
      Labels: before.Labels,
      IPAM: { Driver: 'default', Config: before.IPAM.Config },
      Options: { 'com.docker.network.bridge.name': names.bridge, 'com.docker.network.bridge.enable_icc': 'false' },
    });
    await docker.getNetwork(names.network).connect({ Container: sandbox });
    suite.app.services.sandboxes.forgetAgent(old);

    await setPostgres(old, true);
    const after = (await docker.getNetwork(names.network).inspect()) as { Options: Record<string, string>; Labels: Record<string, string> };
    expect(after.Options['com.docker.network.bridge.enable_icc']).toBe('true');
    expect(after.Labels).toEqual(before.Labels);
    expect((await inspect(names.container))?.State.Running).toBe(true);
    expect(await sh(suite.api, suite.owner, old, `node -e "${CONNECT_SCRIPT.replaceAll('"', '\\"')}" postgres 5432`)).toBe('open');
  });

  it('is removed by the reaper when its project is gone without the clean-up', { timeout: 120_000 }, async () => {
    const orphan = await createWithPostgres();
    await sh(suite.api, suite.owner, orphan, 'true');
    const names = sandboxNames(orphan);
    expect((await inspect(names.postgresContainer))?.State.Running).toBe(true);
    // The row goes without the deletion's hooks, as when a deletion's clean-up failed half-way.
    await suite.app.infra.db.query('DELETE FROM projects WHERE id = $1', [orphan]);
    expect(await suite.app.services.reapSandboxes()).toContain(orphan);
    expect(await inspect(names.postgresContainer)).toBeNull();
    expect(await volumeExists(names.postgresVolume)).toBe(false);
  });
});
