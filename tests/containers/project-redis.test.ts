/**
 * A project's own Redis (its `services.redis` setting): the app in the sandbox reaches it with REDIS_URL and its
 * password only, its data outlives the sandbox's restarts and the setting's being turned off, nobody else reaches it,
 * it is hardened, and it goes with its project (its data saved beside the workspace snapshot).
 */
import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { sandboxNames } from '../../services/containers/sandbox-spec.js';
import { expectConfinedService, expectOnlyItsProjectReaches, inspectContainer, volumeExists as volumeIn } from '../helpers/project-services.js';
import { exec, sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('project-redis');

/**
 * A RESP client in the sandbox's node (there is no redis-cli there): connects to REDIS_URL's host and port, sends the
 * commands of argv[1] (JSON; "$PASSWORD" stands for REDIS_URL's password) and prints their replies as JSON.
 */
const RESP_SCRIPT = `
const url = new URL(process.env.REDIS_URL);
const password = decodeURIComponent(url.password);
const commands = JSON.parse(process.argv[1]).map((args) => args.map((arg) => (arg === '$PASSWORD' ? password : arg)));
const encode = (args) => '*' + args.length + '\\r\\n' + args.map((arg) => '$' + Buffer.byteLength(arg) + '\\r\\n' + arg + '\\r\\n').join('');
const socket = require('net').connect(Number(url.port), url.hostname);
socket.setTimeout(10000, () => { console.error('timeout'); process.exit(2); });
socket.on('error', (err) => { console.error(err.code || err.message); process.exit(1); });
socket.on('connect', () => socket.write(commands.map(encode).join('')));
const replies = [];
let buffer = '';
socket.on('data', (data) => {
  buffer += data.toString('latin1');
  for (;;) {
    const end = buffer.indexOf('\\r\\n');
    if (end < 0) return;
    const type = buffer[0];
    const line = buffer.slice(1, end);
    let rest = end + 2;
    if (type === '$' && Number(line) >= 0) {
      if (buffer.length < rest + Number(line) + 2) return;
      replies.push(buffer.slice(rest, rest + Number(line)));
      rest += Number(line) + 2;
    } else if (type === '$') replies.push(null);
    else if (type === ':') replies.push(Number(line));
    else if (type === '-') replies.push({ error: line });
    else replies.push(line);
    buffer = buffer.slice(rest);
    if (replies.length === commands.length) { console.log(JSON.stringify(replies)); process.exit(0); }
  }
});
`;

async function redis(projectId: string, commands: string[][]): Promise<unknown[]> {
  const result = await exec(suite.api, suite.owner, projectId, ['node', '-e', RESP_SCRIPT, JSON.stringify(commands)], { timeoutMs: 30_000 });
  expect(result.exitCode, `${JSON.stringify(commands)}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout);
}

function inspect(name: string): Promise<Docker.ContainerInspectInfo | null> {
  return inspectContainer(suite.app.infra.docker, name);
}

function volumeExists(name: string): Promise<boolean> {
  return volumeIn(suite.app.infra.docker, name);
}

async function setRedis(projectId: string, on: boolean): Promise<void> {
  const patched = await suite.api.patch(`/api/v1/projects/${projectId}`, { token: suite.owner.accessToken, body: { services: { redis: on } } });
  expect(patched.status, patched.text).toBe(200);
  expect(patched.body.services).toEqual({ postgres: false, redis: on });
}

const AUTH = ['AUTH', '$PASSWORD'];

describe('project Redis', () => {
  let id = '';
  let password = '';

  it('is reached from the sandbox with REDIS_URL and its password; its data survives a stop and start of the sandbox', { timeout: 120_000 }, async () => {
    const created = await suite.api.post('/api/v1/projects', {
      token: suite.owner.accessToken,
      body: { name: 'with redis', stack: 'node', services: { redis: true } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.services).toEqual({ postgres: false, redis: true });
    id = created.body.id;
    password = suite.app.services.sandboxes.redisEnv(id).REDIS_PASSWORD!;
    expect(password).toMatch(/^[0-9a-f]{64}$/);
    expect(password).not.toBe(suite.app.services.sandboxes.postgresEnv(id).PGPASSWORD);
    expect(await sh(suite.api, suite.owner, id, 'echo "$REDIS_HOST $REDIS_PORT ${DATABASE_URL:-no-postgres}"')).toBe('redis 6379 no-postgres');
    expect(await sh(suite.api, suite.owner, id, 'echo "$REDIS_URL"')).toBe(`redis://:${password}@redis:6379/0`);
    expect(await sh(suite.api, suite.owner, id, 'test "$REDIS_PASSWORD" = "' + password + '" && echo same')).toBe('same');

    // No way in without the password.
    expect(await redis(id, [['GET', 'greeting']])).toEqual([{ error: expect.stringMatching(/^NOAUTH/) }]);
    expect(await redis(id, [['AUTH', 'wrong'], ['GET', 'greeting']])).toEqual([
      { error: expect.stringMatching(/^WRONGPASS/) },
      { error: expect.stringMatching(/^NOAUTH/) },
    ]);
    expect(await redis(id, [AUTH, ['SET', 'greeting', 'hello'], ['RPUSH', 'queue', 'a', 'b'], ['GET', 'greeting']])).toEqual(['OK', 'OK', 2, 'hello']);
    // Where it keeps its files is not the app's to change (Redis 7's protected configs).
    expect(await redis(id, [AUTH, ['CONFIG', 'SET', 'dir', '/tmp']])).toEqual(['OK', { error: expect.stringContaining('protected') }]);

    const stopped = await suite.api.post(`/api/v1/projects/${id}/sandbox/stop`, { token: suite.owner.accessToken });
    expect(stopped.status, stopped.text).toBe(200);
    expect((await inspect(sandboxNames(id).redisContainer))?.State.Running).toBe(false);
    const started = await suite.api.post(`/api/v1/projects/${id}/sandbox/start`, { token: suite.owner.accessToken });
    expect(started.status, started.text).toBe(200);
    expect((await inspect(sandboxNames(id).redisContainer))?.State.Running).toBe(true);
    expect(await redis(id, [AUTH, ['GET', 'greeting'], ['LLEN', 'queue'], ['LINDEX', 'queue', '1']])).toEqual(['OK', 'hello', 2, 'b']);
  });

  it('is hardened, on the project network only, with no published port and no password in any configuration', async () => {
    const names = sandboxNames(id);
    await expectConfinedService(
      suite.app.infra.docker,
      { projectId: id, container: names.redisContainer, volume: names.redisVolume, role: 'redis', host: 'redis', password },
      { memoryBytes: 128 * 1024 * 1024, cpus: 0.25, pids: 64, tmpfs: ['/run/redis'] },
    );
    // It keeps to the memory it was given: writes refused at three quarters of it, nothing evicted.
    const [, memory] = (await redis(id, [AUTH, ['INFO', 'memory']])) as [string, string];
    expect(memory).toContain(`maxmemory:${96 * 1024 * 1024}\r\n`);
    expect(memory).toContain('maxmemory_policy:noeviction');
  });

  it("cannot be reached from another project's sandbox", { timeout: 60_000 }, async () => {
    await expectOnlyItsProjectReaches(suite, {
      projectId: id,
      container: sandboxNames(id).redisContainer,
      host: 'redis',
      port: 6379,
      variables: ['REDIS_URL', 'REDIS_PASSWORD'],
    });
  });

  it('is paused with the sandbox, and resumed by its next use', { timeout: 60_000 }, async () => {
    await suite.app.services.sandboxes.pause(id);
    expect((await inspect(sandboxNames(id).redisContainer))?.State.Paused).toBe(true);
    expect(await redis(id, [AUTH, ['GET', 'greeting']])).toEqual(['OK', 'hello']);
    expect((await inspect(sandboxNames(id).redisContainer))?.State.Paused).toBe(false);
  });

  it('turned off: its container goes, its data stays for when it is turned on again', { timeout: 120_000 }, async () => {
    const names = sandboxNames(id);
    await setRedis(id, false);
    expect(await inspect(names.redisContainer)).toBeNull();
    expect(await volumeExists(names.redisVolume)).toBe(true);
    expect(await sh(suite.api, suite.owner, id, 'echo "${REDIS_URL:-none}"')).toBe('none');

    await setRedis(id, true);
    expect((await inspect(names.redisContainer))?.State.Running).toBe(true);
    expect(await redis(id, [AUTH, ['GET', 'greeting']])).toEqual(['OK', 'hello']);
  });

  it('goes with its project, container and data, its data saved beside the workspace snapshot', { timeout: 60_000 }, async () => {
    const names = sandboxNames(id);
    const deleted = await suite.api.delete(`/api/v1/projects/${id}`, { token: suite.owner.accessToken });
    expect(deleted.status).toBe(204);
    expect(await inspect(names.redisContainer)).toBeNull();
    expect(await volumeExists(names.redisVolume)).toBe(false);

    const keys = await suite.app.infra.objects.list(`snapshots/${id}/`);
    expect(keys).toHaveLength(2);
    const [rdb, tar] = keys as [string, string];
    expect(tar).toMatch(new RegExp(`^snapshots/${id}/[^/]+\\.tar$`));
    expect(rdb).toBe(tar.replace(/\.tar$/, '.redis.rdb'));
    const chunks: Buffer[] = [];
    for await (const chunk of await suite.app.infra.objects.get(rdb)) chunks.push(chunk as Buffer);
    const dump = Buffer.concat(chunks);
    // An RDB file ("REDIS" and its version), with the key in it.
    expect(dump.subarray(0, 5).toString('latin1')).toBe('REDIS');
    expect(dump.includes(Buffer.from('greeting'))).toBe(true);
  });
});
