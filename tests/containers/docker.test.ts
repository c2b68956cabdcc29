import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink, copyFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient, type Docker } from '../../services/containers/index.js';

const IMAGE = 'vaporform-test/busybox:latest';
let docker: Docker;

/** A minimal image built here, from Debian's static busybox: no registry involved. */
async function buildBusyboxImage(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'busybox-image-'));
  try {
    await mkdir(path.join(dir, 'bin'));
    await copyFile('/bin/busybox', path.join(dir, 'bin', 'busybox'));
    for (const applet of ['sh', 'echo', 'id', 'cat', 'sleep']) await symlink('busybox', path.join(dir, 'bin', applet));
    const tarFile = path.join(dir, 'rootfs.tar');
    const tar = spawnSync('tar', ['-C', dir, '-cf', tarFile, 'bin']);
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    const stream = await docker.importImage(tarFile, { repo: 'vaporform-test/busybox', tag: 'latest' });
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(null))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  docker = createDockerClient({ socketPath: undefined, host: undefined });
  // Built once per machine: importing again would only leave dangling copies behind.
  await docker.getImage(IMAGE).inspect().catch(buildBusyboxImage);
});

afterAll(async () => {
  const leftovers = await docker.listContainers({ all: true, filters: { label: ['vaporform.test=docker-wiring'] } });
  await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
});

describe('Docker wiring', () => {
  it('answers a ping', async () => {
    expect(String(await docker.ping())).toBe('OK');
  });

  it('runs a throwaway container from a locally built image and reads its output', async () => {
    const container = await docker.createContainer({
      Image: IMAGE,
      Cmd: ['sh', '-c', 'echo "hello from uid $(id -u)"'],
      User: '1000',
      Labels: { 'vaporform.test': 'docker-wiring' },
      HostConfig: { CapDrop: ['ALL'], NetworkMode: 'none', SecurityOpt: ['no-new-privileges'] },
    });
    try {
      await container.start();
      const exit = await container.wait();
      expect(exit.StatusCode).toBe(0);
      const logs = await container.logs({ stdout: true, stderr: true });
      // The log stream is multiplexed: 8-byte frame headers before each chunk.
      expect(logs.subarray(8).toString()).toBe('hello from uid 1000\n');
    } finally {
      await container.remove({ force: true });
    }
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
