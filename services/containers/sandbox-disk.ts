/**
 * Each project's disk: an ext4 file system in a sparse file (`<disks dir>/<project>.ext4`), loop-mounted on the
 * host at `<disks dir>/<project>/`, holding the sandbox's /workspace and /home/sandbox. The kernel enforces its
 * size (SANDBOX_DISK_MB): a write past it fails with ENOSPC, in the sandbox and in the API alike. The host's
 * disk grows only by what is used (sparse file, mounted with discard so deleted files give their blocks back).
 * Docker sees the two directories as local volumes bound to them. Mounts do not survive a reboot, so every use
 * checks the mount and mounts again when it is missing; the mount point stays empty when nothing is mounted,
 * so neither Docker nor the files service can write to the host's disk by mistake (their paths do not exist).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { withProjectLock } from '../../lib/project-lock.js';
import type { DeploymentIdentity } from './deployment.js';
import { LABEL_PROJECT, SANDBOX_UID, sandboxNames } from './sandbox-spec.js';

export interface SandboxDisksOptions {
  docker: Docker;
  db: Db;
  /** Where images and mount points live (DATA_DIR/disks). */
  dir: string;
  sizeBytes: number;
  deployment: DeploymentIdentity;
}

export interface DiskPaths {
  image: string;
  mount: string;
  /** Behind /workspace. */
  workspace: string;
  /** Behind /home/sandbox. */
  home: string;
}

/** mount(8) attaches a loop device itself (and detaches it at unmount); noinit_itable keeps the sparse file sparse. */
const MOUNT_OPTIONS = 'loop,nosuid,nodev,discard,noinit_itable';
const COMMAND_TIMEOUT_MS = 120_000;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function dockerStatus(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : undefined;
}

/** Runs a host tool; a missing tool or a failure becomes an error saying what the machine needs. */
function run(command: string, args: string[], why: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const detail = errno(err) === 'ENOENT' ? `${command} is not installed` : String(stderr).trim() || err.message;
      reject(new AppError('SERVICE_UNAVAILABLE', `${why}: ${detail}`, { command: [command, ...args].join(' ') }));
    });
  });
}

/** Where a project's disk lives below the disks directory. */
export function diskPaths(dir: string, projectId: string): DiskPaths {
  const mount = path.join(dir, projectId);
  return { image: `${mount}.ext4`, mount, workspace: path.join(mount, 'workspace'), home: path.join(mount, 'home') };
}

export class SandboxDisks {
  /** Projects whose volumes this process saw bound to their disk; the mount is still checked on every use. */
  private readonly bound = new Set<string>();

  constructor(private readonly options: SandboxDisksOptions) {}

  paths(projectId: string): DiskPaths {
    return diskPaths(this.options.dir, projectId);
  }

  /**
   * Makes the project's disk ready for its sandbox: created if new, mounted if not (after a reboot), its two
   * volumes bound to it. Returns the host directory behind /workspace. Must run before any container use.
   */
  async ensure(projectId: string): Promise<DiskPaths> {
    const paths = this.paths(projectId);
    if (this.bound.has(projectId) && (await isMountPoint(paths.mount))) return paths;
    // Two API instances (or the worker) may get here at once: one mounts, the other finds it mounted.
    await withProjectLock(this.options.db, projectId, 'disk', async () => {
      if (!(await isMountPoint(paths.mount))) await this.mount(projectId, paths);
      await this.bindVolume(projectId, sandboxNames(projectId).workspaceVolume, paths.workspace);
      await this.bindVolume(projectId, sandboxNames(projectId).homeVolume, paths.home);
    });
    this.bound.add(projectId);
    return paths;
  }

  /** Unmounts and deletes the disk; the volumes bound to it must be gone already. */
  async remove(projectId: string): Promise<void> {
    const paths = this.paths(projectId);
    this.bound.delete(projectId);
    await withProjectLock(this.options.db, projectId, 'disk', async () => {
      if (await isMountPoint(paths.mount)) {
        // A request still holding a file open keeps the mount busy: detach it now, the kernel frees it after.
        await run('umount', [paths.mount], 'Cannot unmount the project disk').catch(() =>
          run('umount', ['--lazy', paths.mount], 'Cannot unmount the project disk'),
        );
      }
      await fs.rm(paths.image, { force: true });
      await fs.rm(`${paths.image}.new`, { force: true });
      await fs.rmdir(paths.mount).catch((err: unknown) => {
        if (errno(err) !== 'ENOENT') throw err;
      });
    });
  }

  private async mount(projectId: string, paths: DiskPaths): Promise<void> {
    await fs.mkdir(paths.mount, { recursive: true, mode: 0o700 });
    if ((await fs.readdir(paths.mount)).length > 0) {
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        `The mount point ${paths.mount} of the project's disk is not empty although nothing is mounted on it: move its content away`,
      );
    }
    if (!(await exists(paths.image))) {
      if (await this.hasBoundVolume(projectId, paths)) {
        // The project had a disk: an empty one now would pass for the workspace's loss.
        throw new AppError(
          'SERVICE_UNAVAILABLE',
          `The disk of this project (${paths.image}) is missing: restore it, or remove the Docker volumes ` +
            `${sandboxNames(projectId).workspaceVolume} and ${sandboxNames(projectId).homeVolume} to start from an empty workspace`,
        );
      }
      await this.createImage(paths.image);
    }
    await run('mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, paths.image, paths.mount], 'Cannot mount the project disk (this needs root and loop devices, /dev/loop-control)');
    // The file system's root only holds the two directories (and lost+found); only the sandbox user writes below them.
    await fs.chmod(paths.mount, 0o755);
    for (const dir of [paths.workspace, paths.home]) {
      await fs.mkdir(dir, { mode: 0o755 }).catch((err: unknown) => {
        if (errno(err) !== 'EEXIST') throw err;
      });
      await fs.lchown(dir, SANDBOX_UID, SANDBOX_UID);
    }
  }

  /** A sparse file with an empty ext4 file system in it, made under another name and renamed when complete. */
  private async createImage(image: string): Promise<void> {
    const partial = `${image}.new`;
    const handle = await fs.open(partial, 'w', 0o600);
    try {
      await handle.truncate(this.options.sizeBytes);
    } finally {
      await handle.close();
    }
    // -m 0: no blocks reserved for root; -i 8192: room for many small files (node_modules); lazy init: stay sparse.
    await run(
      'mkfs.ext4',
      ['-q', '-F', '-m', '0', '-i', '8192', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-L', 'vaporform', partial],
      'Cannot make the project disk (mkfs.ext4 of e2fsprogs is needed)',
    );
    await fs.rename(partial, image);
  }

  private async hasBoundVolume(projectId: string, paths: DiskPaths): Promise<boolean> {
    const volume = await this.inspectVolume(sandboxNames(projectId).workspaceVolume);
    return volume?.Options?.device === paths.workspace;
  }

  private async inspectVolume(name: string): Promise<Docker.VolumeInspectInfo | null> {
    try {
      return await this.options.docker.getVolume(name).inspect();
    } catch (err) {
      if (dockerStatus(err) === 404) return null;
      throw err;
    }
  }

  /** The named volume as a bind of `dir`; a plain volume from before disks existed is moved onto the disk first. */
  private async bindVolume(projectId: string, name: string, dir: string): Promise<void> {
    const volume = await this.inspectVolume(name);
    if (volume?.Options?.device === dir) return;
    if (volume) await this.moveOntoDisk(projectId, volume, dir);
    await this.options.docker.createVolume({
      Name: name,
      Driver: 'local',
      DriverOpts: { type: 'none', o: 'bind', device: dir },
      Labels: { ...(await this.options.deployment.labels()), [LABEL_PROJECT]: projectId },
    });
  }

  /**
   * A workspace made before disks existed: its container goes (a new one is made on the disk, as after
   * removeContainer), its files are copied onto the disk, and its old volume is removed.
   */
  private async moveOntoDisk(projectId: string, volume: Docker.VolumeInspectInfo, dir: string): Promise<void> {
    const { docker } = this.options;
    await docker
      .getContainer(sandboxNames(projectId).container)
      .remove({ force: true, v: false })
      .catch((err: unknown) => {
        if (dockerStatus(err) !== 404) throw err;
      });
    try {
      await run('cp', ['-a', '--', `${volume.Mountpoint}/.`, `${dir}/`], 'Cannot copy the workspace onto its disk');
    } catch (err) {
      // Leave the disk's directory empty again: the old volume stays the only copy, untouched.
      for (const entry of await fs.readdir(dir)) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
      const full = err instanceof AppError && /No space left/i.test(String(err.message));
      if (!full) throw err;
      throw new AppError(
        'QUOTA_EXCEEDED',
        `The volume ${volume.Name} holds more than the project's disk (SANDBOX_DISK_MB) can: raise SANDBOX_DISK_MB`,
      );
    }
    // cp gave the directory the old one's owner and mode: it stays the sandbox user's.
    await fs.lchown(dir, SANDBOX_UID, SANDBOX_UID);
    await fs.chmod(dir, 0o755);
    await docker.getVolume(volume.Name).remove();
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    (err: unknown) => {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    },
  );
}

/** True when a file system is mounted on `dir` (it lives on another device than its parent). */
async function isMountPoint(dir: string): Promise<boolean> {
  try {
    const [self, parent] = await Promise.all([fs.stat(dir), fs.stat(path.dirname(dir))]);
    return self.dev !== parent.dev;
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
}
