/**
 * Each project's disk (SANDBOX_DISK_MB): the kernel refuses writes past it in the sandbox and through the files
 * API (QUOTA_EXCEEDED, never a 500), the sandbox stays usable once space is freed, the host holds no more than
 * the quota, the disk is mounted again after a reboot (two instances racing to do it share one mount), a lost
 * disk is a clear error, and the disk goes with its project.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskPaths, sandboxNames } from '../../services/containers/index.js';
import { startTestApp } from '../helpers/app.js';
import { createProject, exec, sandboxSuite, sh } from '../helpers/sandbox.js';
import { makeTar } from '../files/tar-fixtures.js';

const DISK_MB = 64;
const env = { SANDBOX_DISK_MB: String(DISK_MB), JWT_SECRET: randomBytes(32).toString('hex') };
const suite = sandboxSuite('disk', { env });
const project = () => suite.project();

const disk = (id: string) => diskPaths(suite.app.config.sandbox.disksDir, id);
const mounts = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.split(' ')[4] === dir).length;

/** A workspace volume of the kind made before disks existed: Docker's own directory, no size limit. */
async function oldVolume(id: string) {
  await suite.app.infra.docker.createVolume({ Name: sandboxNames(id).workspaceVolume });
  return suite.app.infra.docker.getVolume(sandboxNames(id).workspaceVolume).inspect();
}

function put(id: string, path: string, body: Buffer) {
  return suite.api.request('PUT', `/api/v1/projects/${id}/files/content?path=${encodeURIComponent(path)}`, {
    token: suite.owner.accessToken,
    rawBody: body,
    headers: { 'content-type': 'application/octet-stream' },
  });
}

describe('project disk', () => {
  it('refuses writes past the quota in the sandbox and through the API, and works again once space is freed', async () => {
    const id = await project();
    const filled = await exec(suite.api, suite.owner, id, 'yes > /workspace/big', { timeoutMs: 60_000 });
    expect(filled.exitCode).not.toBe(0);
    expect(filled.stderr).toMatch(/No space left on device/);
    // The home directory is on the same disk: one quota for the project.
    const home = await exec(suite.api, suite.owner, id, 'head -c 1048576 /dev/zero > ~/more');
    expect(home.stderr).toMatch(/No space left on device/);
    // The host's disk holds the image's blocks, no more than the quota.
    expect(statSync(disk(id).image).blocks * 512).toBeLessThanOrEqual(DISK_MB * 1024 * 1024);

    const write = await put(id, 'note.txt', randomBytes(1024 * 1024));
    expect(write.status, write.text).toBe(507);
    expect(write.body.error.code).toBe('QUOTA_EXCEEDED');
    const archive = await makeTar([{ name: 'a.txt', content: 'a' }, { name: 'b.bin', content: randomBytes(1024 * 1024) }]);
    const upload = await suite.api.request('PUT', `/api/v1/projects/${id}/files/archive?path=up`, {
      token: suite.owner.accessToken,
      rawBody: archive,
      headers: { 'content-type': 'application/x-tar' },
    });
    expect(upload.status, upload.text).toBe(507);
    expect(await sh(suite.api, suite.owner, id, 'ls -A /workspace')).toBe('big');

    await sh(suite.api, suite.owner, id, 'rm /workspace/big');
    expect(await sh(suite.api, suite.owner, id, 'echo fine > after.txt && cat after.txt')).toBe('fine');
    expect((await put(id, 'note.txt', randomBytes(1024 * 1024))).status).toBe(201);
    // Freed blocks go back to the host (discard, at the file system's next commit).
    await expect.poll(() => statSync(disk(id).image).blocks * 512, { timeout: 30_000 }).toBeLessThan(16 * 1024 * 1024);
  });

  it('mounts the disk again after a reboot; two instances doing it at once share one mount', async () => {
    const id = await project();
    await sh(suite.api, suite.owner, id, 'echo kept > kept.txt');
    await suite.app.services.sandboxes.stop(id);
    // What a reboot leaves: the image, the volumes and the stopped container, no mount.
    execFileSync('umount', [disk(id).mount]);
    expect(mounts(disk(id).mount)).toBe(0);
    const second = await startTestApp({ env, database: suite.app.database });
    try {
      await Promise.all([suite.app.services.sandboxes.ensureRunning(id, 'node'), second.services.sandboxes.ensureRunning(id, 'node')]);
    } finally {
      await second.close();
    }
    expect(mounts(disk(id).mount)).toBe(1);
    expect(await sh(suite.api, suite.owner, id, 'cat kept.txt')).toBe('kept');
  });

  it('refuses to start over a lost disk with a clear error, never an empty workspace', async () => {
    const id = await project();
    await sh(suite.api, suite.owner, id, 'echo precious > data.txt');
    await suite.app.services.sandboxes.stop(id);
    execFileSync('umount', [disk(id).mount]);
    execFileSync('rm', [disk(id).image]);
    const started = await suite.api.post(`/api/v1/projects/${id}/sandbox/start`, { token: suite.owner.accessToken });
    expect(started.status, started.text).toBe(503);
    expect(started.body.error.message).toMatch(/disk of this project .* is missing/);
    // What the message says to do, to start again from an empty workspace.
    const names = sandboxNames(id);
    await suite.app.infra.docker.getContainer(names.container).remove({ force: true });
    for (const volume of [names.workspaceVolume, names.homeVolume]) await suite.app.infra.docker.getVolume(volume).remove();
    expect(await sh(suite.api, suite.owner, id, 'ls -A')).toBe('');
  });

  it('moves a workspace made before disks existed onto a disk, and refuses one larger than the disk', async () => {
    const docker = suite.app.infra.docker;
    const fits = await project();
    const old = await oldVolume(fits);
    writeFileSync(path.join(old.Mountpoint, 'old.txt'), 'from before');
    chownSync(path.join(old.Mountpoint, 'old.txt'), 1000, 1000);
    expect(await sh(suite.api, suite.owner, fits, 'cat old.txt && touch new.txt')).toBe('from before');
    expect((await docker.getVolume(sandboxNames(fits).workspaceVolume).inspect()).Options).toMatchObject({ device: disk(fits).workspace });

    const large = await project();
    const big = await oldVolume(large);
    execFileSync('head', ['-c', String((DISK_MB + 8) * 1024 * 1024), '/dev/zero'], { stdio: ['ignore', openSync(path.join(big.Mountpoint, 'big'), 'w'), 'inherit'] });
    const refused = await suite.api.post(`/api/v1/projects/${large}/sandbox/start`, { token: suite.owner.accessToken });
    expect(refused.status, refused.text).toBe(507);
    expect(refused.body.error.code).toBe('QUOTA_EXCEEDED');
    // Nothing lost: the old volume is as it was, the disk left empty.
    expect(statSync(path.join(big.Mountpoint, 'big')).size).toBe((DISK_MB + 8) * 1024 * 1024);
    expect(readdirSync(disk(large).workspace)).toEqual([]);
    await docker.getVolume(sandboxNames(large).workspaceVolume).remove();
  });

  it('goes with its project', async () => {
    const id = await createProject(suite.api, suite.owner);
    await sh(suite.api, suite.owner, id, 'echo bye > bye.txt');
    const { image, mount } = disk(id);
    expect(existsSync(image)).toBe(true);
    expect((await suite.api.delete(`/api/v1/projects/${id}`, { token: suite.owner.accessToken })).status).toBe(204);
    expect(mounts(mount)).toBe(0);
    expect(existsSync(image)).toBe(false);
    expect(existsSync(mount)).toBe(false);
  });
});
