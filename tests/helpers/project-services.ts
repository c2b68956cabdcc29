/** Checks shared by the tests of a project's own services (its PostgreSQL, its Redis): what Docker has, and who reaches it. */
import type Docker from 'dockerode';
import { expect } from 'vitest';
import { LABEL_DEPLOYMENT, LABEL_PROJECT, LABEL_ROLE, sandboxNames } from '../../services/containers/sandbox-spec.js';
import { exec, sh, type SandboxSuite } from './sandbox.js';

/** A TCP connection attempt from a sandbox (`node -e CONNECT_SCRIPT host port`): "open", or why not. */
export const CONNECT_SCRIPT = `
const socket = require('net').connect(Number(process.argv[2]), process.argv[1]);
socket.setTimeout(3000);
socket.on('connect', () => { console.log('open'); process.exit(0); });
socket.on('timeout', () => { console.log('timeout'); process.exit(0); });
socket.on('error', (err) => { console.log(err.code); process.exit(0); });
`;

/** The container as Docker has it, or null when there is none. */
export async function inspectContainer(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

export async function volumeExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getVolume(name).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * A service's container is confined as sandbox-spec.ts says: its user (uid 999, every process), no capability, a
 * read-only root with only `tmpfs`, its limits, no published port, the project's network only (as `host`), labelled,
 * and the password in neither its nor the sandbox's configuration.
 */
export async function expectConfinedService(
  docker: Docker,
  service: { projectId: string; container: string; volume: string; role: string; host: string; password: string },
  expected: { memoryBytes: number; cpus: number; pids: number; tmpfs: string[] },
): Promise<void> {
  const network = sandboxNames(service.projectId).network;
  const info = (await inspectContainer(docker, service.container))!;
  expect(info.Config.User).toBe('999:999');
  expect(info.HostConfig.CapDrop).toEqual(['ALL']);
  expect(info.HostConfig.CapAdd ?? []).toEqual([]);
  expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
  expect(info.HostConfig.ReadonlyRootfs).toBe(true);
  expect(info.HostConfig.Privileged).toBe(false);
  expect(info.HostConfig.Memory).toBe(expected.memoryBytes);
  expect(info.HostConfig.MemorySwap).toBe(expected.memoryBytes);
  expect(info.HostConfig.PidsLimit).toBe(expected.pids);
  expect(info.HostConfig.NanoCpus).toBe(expected.cpus * 1e9);
  expect(Object.keys(info.HostConfig.Tmpfs ?? {}).sort()).toEqual(expected.tmpfs);
  expect(info.HostConfig.PublishAllPorts).toBe(false);
  expect(Object.keys(info.HostConfig.PortBindings ?? {})).toEqual([]);
  expect(Object.values(info.NetworkSettings.Ports ?? {}).every((bindings) => bindings === null)).toBe(true);
  expect(Object.keys(info.NetworkSettings.Networks)).toEqual([network]);
  expect(info.NetworkSettings.Networks[network]!.Aliases).toContain(service.host);
  expect(info.Config.Labels).toMatchObject({ [LABEL_PROJECT]: service.projectId, [LABEL_ROLE]: service.role });
  expect(info.Config.Labels[LABEL_DEPLOYMENT]).toMatch(/^[0-9a-f-]{36}$/);
  const volume = await docker.getVolume(service.volume).inspect();
  expect(volume.Labels).toMatchObject({ [LABEL_PROJECT]: service.projectId, [LABEL_ROLE]: service.role });
  // The server runs as its user: PID 1 and every process it starts; its command lines hold no password either.
  const top = (await docker.getContainer(service.container).top({ ps_args: '-o pid,uid,args' })) as { Processes: string[][] };
  expect(top.Processes.map((row) => row[1]!.trim())).toEqual(top.Processes.map(() => '999'));
  expect(JSON.stringify(top.Processes)).not.toContain(service.password);

  expect(JSON.stringify(info)).not.toContain(service.password);
  expect(JSON.stringify(await inspectContainer(docker, sandboxNames(service.projectId).container))).not.toContain(service.password);
}

/**
 * Another project's sandbox neither reaches the service's address nor resolves its host name, and gets none of its
 * variables; the project's own sandbox reaches it by name.
 */
export async function expectOnlyItsProjectReaches(
  suite: SandboxSuite,
  service: { projectId: string; container: string; host: string; port: number; variables: [string, string] },
): Promise<void> {
  const network = sandboxNames(service.projectId).network;
  const ip = (await inspectContainer(suite.app.infra.docker, service.container))!.NetworkSettings.Networks[network]!.IPAddress;
  expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  const port = String(service.port);
  const other = await suite.project('node');
  const direct = await exec(suite.api, suite.owner, other, ['node', '-e', CONNECT_SCRIPT, ip, port], { timeoutMs: 20_000 });
  expect(direct.stdout.trim()).not.toBe('open');
  const byName = await exec(suite.api, suite.owner, other, ['node', '-e', CONNECT_SCRIPT, service.host, port], { timeoutMs: 20_000 });
  expect(byName.stdout.trim()).toBe('ENOTFOUND');
  const [first, second] = service.variables;
  expect(await sh(suite.api, suite.owner, other, `echo "\${${first}:-none} \${${second}:-none}"`)).toBe('none none');
  const own = await exec(suite.api, suite.owner, service.projectId, ['node', '-e', CONNECT_SCRIPT, service.host, port], { timeoutMs: 20_000 });
  expect(own.stdout.trim()).toBe('open');
}
