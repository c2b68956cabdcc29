import { describe, expect, it } from 'vitest';
import { postgresCreateOptions, redisCreateOptions, sandboxCreateOptions, sandboxNames, sandboxSubnet } from '../../services/containers/index.js';

const PROJECT = '0a1b2c3d-0000-4000-8000-000000000000';

describe('sandbox spec', () => {
  it('names Docker objects from the project id, the bridge within 15 characters', () => {
    const names = sandboxNames(PROJECT);
    expect(names.container).toBe(`vf-sandbox-${PROJECT}`);
    expect(names.bridge).toMatch(/^vfbr[0-9a-f]{11}$/);
    expect(names.bridge.length).toBeLessThanOrEqual(15);
  });

  it('carves a /28 per network from the pool, moving to the next slot on each attempt', () => {
    const first = sandboxSubnet(PROJECT, '10.213.0.0/16', 0);
    const second = sandboxSubnet(PROJECT, '10.213.0.0/16', 1);
    expect(first.subnet).toMatch(/^10\.213\.\d+\.\d+\/28$/);
    expect(Number(first.subnet.split('.')[3]!.split('/')[0]) % 16).toBe(0);
    expect(first.gateway).toBe(first.subnet.replace(/\.(\d+)\/28$/, (_m, last) => `.${Number(last) + 1}`));
    expect(second.subnet).not.toBe(first.subnet);
    // The last slot wraps around to the first.
    expect(sandboxSubnet(PROJECT, '10.213.0.0/24', 16).subnet).toBe(sandboxSubnet(PROJECT, '10.213.0.0/24', 0).subnet);
    expect(() => sandboxSubnet(PROJECT, 'not-a-cidr', 0)).toThrow(/SANDBOX_SUBNET_POOL/);
  });

  it('asks Docker for every hardening measure', () => {
    const options = sandboxCreateOptions({
      projectId: PROJECT,
      image: 'img',
      limits: { memoryBytes: 1024 ** 3, cpus: 1, pids: 256 },
    });
    // tini and the exec agent run as root (user code, which the agent runs as uid 1000, cannot touch them), with
    // three capabilities and nothing else; the agent's token comes through a root-only volume, never the environment.
    expect(options.User).toBe('0:0');
    expect(options.Cmd).toBeUndefined();
    expect(options.Env).toEqual(['HOME=/home/sandbox']);
    expect(options.Labels).toMatchObject({ 'vaporform.sandbox-spec': '2' });
    expect(options.HostConfig?.CapAdd).toEqual(['SETUID', 'SETGID', 'KILL']);
    expect(options.HostConfig?.Mounts).toContainEqual(
      expect.objectContaining({ Type: 'volume', Source: `vf-agent-${PROJECT}`, Target: '/run/vaporform' }),
    );
    expect(options.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Memory: 1024 ** 3,
      MemorySwap: 1024 ** 3,
      NanoCpus: 1e9,
      PidsLimit: 256,
      Privileged: false,
    });
    const mounts = JSON.stringify(options.HostConfig?.Mounts);
    expect(mounts).not.toContain('docker.sock');
    expect(options.HostConfig?.Binds).toBeUndefined();
  });

  it("asks Docker for a project PostgreSQL as hardened as PostgreSQL allows, on the project's network only", () => {
    const names = sandboxNames(PROJECT);
    expect([names.postgresContainer, names.postgresVolume]).toEqual([`vf-pg-${PROJECT}`, `vf-pgdata-${PROJECT}`]);
    const options = postgresCreateOptions({ projectId: PROJECT, image: 'pg', limits: { memoryBytes: 256 * 1024 ** 2, cpus: 0.5, pids: 128 } });
    expect(options.User).toBe('999:999');
    expect(options.Env).toEqual([]);
    expect(options.Labels).toEqual({ 'vaporform.project': PROJECT, 'vaporform.role': 'postgres' });
    expect(options.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Memory: 256 * 1024 ** 2,
      MemorySwap: 256 * 1024 ** 2,
      NanoCpus: 0.5e9,
      PidsLimit: 128,
      Privileged: false,
      PublishAllPorts: false,
      PortBindings: {},
      NetworkMode: names.network,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 },
    });
    expect(options.HostConfig?.CapAdd).toBeUndefined();
    expect(Object.keys(options.HostConfig?.Tmpfs ?? {}).sort()).toEqual(['/run/postgresql', '/tmp']);
    expect(options.HostConfig?.Mounts).toEqual([
      expect.objectContaining({ Type: 'volume', Source: names.postgresVolume, Target: '/var/lib/postgresql' }),
    ]);
    expect(options.NetworkingConfig?.EndpointsConfig).toEqual({ [names.network]: { Aliases: ['postgres'] } });
  });

  it("asks Docker for a project Redis hardened the same way, on the project's network only", () => {
    const names = sandboxNames(PROJECT);
    expect([names.redisContainer, names.redisVolume]).toEqual([`vf-redis-${PROJECT}`, `vf-redisdata-${PROJECT}`]);
    const limits = { memoryBytes: 128 * 1024 ** 2, cpus: 0.25, pids: 64 };
    const options = redisCreateOptions({ projectId: PROJECT, image: 'redis', limits });
    const postgres = postgresCreateOptions({ projectId: PROJECT, image: 'pg', limits });
    expect(options.User).toBe('999:999');
    expect(options.Env).toEqual([]);
    expect(options.Labels).toEqual({ 'vaporform.project': PROJECT, 'vaporform.role': 'redis' });
    // The same confinement as the PostgreSQL's, but for its tmpfs, its shared memory and its role.
    const { Tmpfs, ShmSize, Mounts, ...confinement } = options.HostConfig!;
    const { Tmpfs: _pgTmpfs, ShmSize: _pgShm, Mounts: _pgMounts, ...postgresConfinement } = postgres.HostConfig!;
    expect(confinement).toEqual(postgresConfinement);
    expect(confinement).toMatchObject({ CapDrop: ['ALL'], ReadonlyRootfs: true, Memory: limits.memoryBytes, NanoCpus: 0.25e9, PidsLimit: 64 });
    expect(ShmSize).toBeUndefined();
    expect(Object.keys(Tmpfs ?? {})).toEqual(['/run/redis']);
    expect(Mounts).toEqual([expect.objectContaining({ Type: 'volume', Source: names.redisVolume, Target: '/var/lib/redis' })]);
    expect(options.NetworkingConfig?.EndpointsConfig).toEqual({ [names.network]: { Aliases: ['redis'] } });
  });
});
