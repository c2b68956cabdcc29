/**
 * What every project service container (its PostgreSQL, its Redis) is alike in: one container and one data volume per
 * project, on the project's network only; a password derived from the server's secret and handed over as a file
 * before each start; started and waited for, paused, stopped, removed and destroyed by SandboxManager under the
 * sandbox's lifecycle lock (nothing here decides when); its data saved beside the workspace snapshot on deletion.
 */
import { createHmac } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { AppError } from '../../lib/errors.js';
import type { ObjectStore } from '../../lib/object-store.js';
import type { DeploymentIdentity } from './deployment.js';
import type { SandboxLimits } from './sandbox-spec.js';

const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 200;
/** What of a failing command's stderr an error keeps. */
const STDERR_LIMIT = 4096;

export interface ProjectServiceDeps {
  docker: Docker;
  image: string;
  limits: SandboxLimits;
  /** The server secret the password is derived from (HMAC of the project id), so nothing is stored. */
  secret: string;
  deployment: DeploymentIdentity;
}

/** What sets one service apart from another. */
export interface ProjectServiceKind {
  /** Its name in messages: "PostgreSQL". */
  title: string;
  /** The HMAC context of its password (with the project id). */
  passwordContext: string;
  /** The image's service user: runs every command here and owns the password file. */
  uid: number;
  /** The password file's directory (the data volume's mount point: Docker copies files into volumes, not a read-only root) and name. */
  passwordDir: string;
  passwordFile: string;
  /** Seconds the service gets to shut down cleanly before Docker kills it. */
  stopSeconds: number;
  /** Its container and data volume. */
  names(projectId: string): { container: string; volume: string };
  createOptions(options: { projectId: string; image: string; limits: SandboxLimits; labels: Record<string, string> }): Docker.ContainerCreateOptions;
  /** Run in the container: exits 0 once the service serves (its start-up done). */
  readyCommand: string[];
  /** Run in the container: writes a copy of the data to stdout, saved as `<snapshot>.<dumpSuffix>`. */
  dumpCommand: string[];
  dumpSuffix: string;
}

function dockerStatus(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : undefined;
}

function ignoreMissing(err: unknown): void {
  if (dockerStatus(err) !== 404 && dockerStatus(err) !== 304) throw err;
}

export abstract class ProjectServiceContainer {
  constructor(
    protected readonly deps: ProjectServiceDeps,
    protected readonly kind: ProjectServiceKind,
  ) {}

  /** What every command in the project's sandbox gets while the service is on. */
  abstract env(projectId: string): Record<string, string>;

  /** The password: derived, never stored; hex, so it needs no quoting in a URL, in SQL or in a configuration file. */
  password(projectId: string): string {
    return createHmac('sha256', this.deps.secret).update(`${this.kind.passwordContext}:${projectId}`).digest('hex');
  }

  protected container(projectId: string): Docker.Container {
    return this.deps.docker.getContainer(this.kind.names(projectId).container);
  }

  protected async inspect(projectId: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.container(projectId).inspect();
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
      return null;
    }
  }

  /** Created, started or resumed as needed; waits (up to 30 s) until it serves. The network must exist. */
  async ensureRunning(projectId: string): Promise<void> {
    let info = await this.inspect(projectId);
    if (!info) {
      try {
        await this.deps.docker.createContainer(
          this.kind.createOptions({ projectId, image: this.deps.image, limits: this.deps.limits, labels: await this.deps.deployment.labels() }),
        );
      } catch (err) {
        if (dockerStatus(err) === 404) {
          throw new AppError('SERVICE_UNAVAILABLE', `The ${this.kind.title} image ${this.deps.image} is not built yet: run \`npm run images:build\``);
        }
        if (dockerStatus(err) !== 409) throw err; // 409: made meanwhile by another instance
      }
      info = (await this.inspect(projectId))!;
    }
    const container = this.container(projectId);
    if (info.State.Paused) await container.unpause();
    else if (!info.State.Running) {
      await this.handOverPassword(container, projectId);
      await container.start();
      await this.waitReady(container);
    }
  }

  /**
   * The password goes in as a file in the data volume (the service's user, 0400) before each start: the entrypoint
   * reads and deletes it. Never the container's environment, which `docker inspect` shows.
   */
  private async handOverPassword(container: Docker.Container, projectId: string): Promise<void> {
    const { uid } = this.kind;
    const pack = tar.pack();
    pack.entry({ name: this.kind.passwordFile, mode: 0o400, uid, gid: uid, mtime: new Date() }, this.password(projectId));
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    await container.putArchive(Buffer.concat(chunks), { path: this.kind.passwordDir });
  }

  /** Until the ready command succeeds; an error (with the last lines of its log) when the container exited. */
  private async waitReady(container: Docker.Container): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const info = await container.inspect();
      if (!info.State.Running) {
        const logs = ((await container.logs({ stdout: true, stderr: true, tail: 20 })) as Buffer).toString('utf8');
        throw new AppError('SERVICE_UNAVAILABLE', `The project's ${this.kind.title} exited (code ${info.State.ExitCode})`, { logs });
      }
      if ((await this.run(container, this.kind.readyCommand, new PassThrough().resume())).exitCode === 0) return;
      if (Date.now() > deadline) throw new AppError('SERVICE_UNAVAILABLE', `The project's ${this.kind.title} did not become ready in time`);
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }

  /** Runs a command in the container as the service's user, its stdout into `stdout` (ended with it); its exit code and stderr's start. */
  private async run(container: Docker.Container, cmd: string[], stdout: Writable): Promise<{ exitCode: number; stderr: string }> {
    const exec = await container.exec({ Cmd: cmd, User: `${this.kind.uid}:${this.kind.uid}`, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    let stderr = '';
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8').slice(0, STDERR_LIMIT - stderr.length);
        done();
      },
    });
    this.deps.docker.modem.demuxStream(stream, stdout, errors);
    await new Promise<void>((resolve, reject) => stream.on('end', resolve).on('close', resolve).on('error', reject));
    stdout.end();
    return { exitCode: (await exec.inspect()).ExitCode ?? -1, stderr };
  }

  /**
   * Saves a copy of the data as `<snapshot>.<suffix>` in object storage (the container started or resumed first);
   * its key, or null when the project has no container of this service.
   */
  async saveData(projectId: string, objects: ObjectStore, snapshot: string): Promise<string | null> {
    if (!(await this.inspect(projectId))) return null;
    await this.ensureRunning(projectId);
    const key = `${snapshot}.${this.kind.dumpSuffix}`;
    const body = new PassThrough();
    body.on('error', () => {}); // what went wrong is told by the store's or the command's outcome below
    const ran = this.run(this.container(projectId), this.kind.dumpCommand, body).catch((err: unknown) => {
      body.destroy(err as Error); // or the store would wait for the rest forever
      throw err;
    });
    const [stored, result] = await Promise.allSettled([objects.put(key, body), ran]);
    const exitCode = result.status === 'fulfilled' ? result.value.exitCode : -1;
    if (stored.status === 'rejected' || exitCode !== 0) {
      // No half a dump left looking like a whole one; a delete that fails too adds nothing to the error below.
      await objects.delete(key).catch(() => {});
      throw new AppError('INTERNAL', `Saving the project's ${this.kind.title} data failed`, {
        exitCode,
        stderr: result.status === 'fulfilled' ? result.value.stderr : String(result.reason),
        ...(stored.status === 'rejected' ? { store: String(stored.reason) } : {}),
      });
    }
    return key;
  }

  async pause(projectId: string): Promise<void> {
    const info = await this.inspect(projectId);
    if (info?.State.Running && !info.State.Paused) await this.container(projectId).pause();
  }

  async stop(projectId: string): Promise<void> {
    const info = await this.inspect(projectId);
    if (info) await this.stopFound(projectId, info);
  }

  private async stopFound(projectId: string, info: Docker.ContainerInspectInfo): Promise<void> {
    const container = this.container(projectId);
    if (info.State.Paused) await container.unpause();
    // The image's stop signal makes the service flush its data; Docker kills it after stopSeconds.
    if (info.State.Running) await container.stop({ t: this.kind.stopSeconds }).catch(ignoreMissing);
  }

  /** Removes the container; the data volume stays. */
  async remove(projectId: string): Promise<void> {
    // One look: the common case (a project without this service, at each sandbox start or resume) ends here.
    const info = await this.inspect(projectId);
    if (!info) return;
    await this.stopFound(projectId, info);
    await this.container(projectId).remove({ force: true, v: false }).catch(ignoreMissing);
  }

  /** Removes the container and its data. */
  async destroy(projectId: string): Promise<void> {
    await this.container(projectId).remove({ force: true, v: false }).catch(ignoreMissing);
    await this.deps.docker.getVolume(this.kind.names(projectId).volume).remove().catch(ignoreMissing);
  }
}
