/**
 * A project's own PostgreSQL (its `services.postgres` setting): a container `vf-pg-<project>` on the project's network
 * only, its data in the volume `vf-pgdata-<project>`. SandboxManager drives it with the sandbox, under the sandbox's
 * lifecycle lock; nothing here decides when.
 */
import { createHmac } from 'node:crypto';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { AppError } from '../../lib/errors.js';
import type { DeploymentIdentity } from './deployment.js';
import {
  POSTGRES_DATABASE,
  POSTGRES_HOST,
  POSTGRES_PASSWORD_FILE,
  POSTGRES_PORT,
  POSTGRES_UID,
  POSTGRES_USER,
  POSTGRES_VOLUME_DIR,
  postgresCreateOptions,
  sandboxNames,
  type PostgresLimits,
} from './sandbox-spec.js';

const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 200;

export interface ProjectPostgresDeps {
  docker: Docker;
  image: string;
  limits: PostgresLimits;
  /** The server secret the password is derived from (HMAC of the project id), so nothing is stored. */
  secret: string;
  deployment: DeploymentIdentity;
}

function dockerStatus(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : undefined;
}

function ignoreMissing(err: unknown): void {
  if (dockerStatus(err) !== 404 && dockerStatus(err) !== 304) throw err;
}

export class ProjectPostgres {
  constructor(private readonly deps: ProjectPostgresDeps) {}

  /** The app role's password: derived, never stored; hex, so it needs no quoting in a URL or in SQL. */
  password(projectId: string): string {
    return createHmac('sha256', this.deps.secret).update(`vaporform-postgres:${projectId}`).digest('hex');
  }

  /** What every command in the project's sandbox gets when the setting is on. */
  env(projectId: string): Record<string, string> {
    const password = this.password(projectId);
    return {
      DATABASE_URL: `postgres://${POSTGRES_USER}:${password}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DATABASE}`,
      PGHOST: POSTGRES_HOST,
      PGPORT: String(POSTGRES_PORT),
      PGUSER: POSTGRES_USER,
      PGPASSWORD: password,
      PGDATABASE: POSTGRES_DATABASE,
    };
  }

  private container(projectId: string): Docker.Container {
    return this.deps.docker.getContainer(sandboxNames(projectId).postgresContainer);
  }

  private async inspect(projectId: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.container(projectId).inspect();
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
      return null;
    }
  }

  /** Created, started or resumed as needed; waits (up to 30 s) until it accepts connections. The network must exist. */
  async ensureRunning(projectId: string): Promise<void> {
    let info = await this.inspect(projectId);
    if (!info) {
      try {
        await this.deps.docker.createContainer(
          postgresCreateOptions({ projectId, image: this.deps.image, limits: this.deps.limits, labels: await this.deps.deployment.labels() }),
        );
      } catch (err) {
        if (dockerStatus(err) === 404) {
          throw new AppError('SERVICE_UNAVAILABLE', `The PostgreSQL image ${this.deps.image} is not built yet: run \`npm run images:build\``);
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
      await this.waitReady(projectId);
    }
  }

  /**
   * The password goes in as a file in the data volume (postgres, 0400) before each start: the entrypoint sets the role's
   * password from it and deletes it. Never the container's environment, which `docker inspect` shows.
   */
  private async handOverPassword(container: Docker.Container, projectId: string): Promise<void> {
    const pack = tar.pack();
    pack.entry(
      { name: POSTGRES_PASSWORD_FILE, mode: 0o400, uid: POSTGRES_UID, gid: POSTGRES_UID, mtime: new Date() },
      this.password(projectId),
    );
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    await container.putArchive(Buffer.concat(chunks), { path: POSTGRES_VOLUME_DIR });
  }

  /** Until `pg_isready` answers yes over TCP (the entrypoint's set-up is done by then); an error when it exited. */
  private async waitReady(projectId: string): Promise<void> {
    const container = this.container(projectId);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const info = await container.inspect();
      if (!info.State.Running) {
        const logs = ((await container.logs({ stdout: true, stderr: true, tail: 20 })) as Buffer).toString('utf8');
        throw new AppError('SERVICE_UNAVAILABLE', `The project's PostgreSQL exited (code ${info.State.ExitCode})`, { logs });
      }
      if (await this.accepts(container)) return;
      if (Date.now() > deadline) throw new AppError('SERVICE_UNAVAILABLE', "The project's PostgreSQL did not become ready in time");
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }

  private async accepts(container: Docker.Container): Promise<boolean> {
    const exec = await container.exec({
      Cmd: ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(POSTGRES_PORT)],
      User: `${POSTGRES_UID}:${POSTGRES_UID}`,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    stream.resume();
    await new Promise<void>((resolve) => stream.on('end', resolve).on('close', resolve).on('error', () => resolve()));
    return (await exec.inspect()).ExitCode === 0;
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
    // PostgreSQL's fast shutdown (the image's stop signal) flushes its data; 10 s before Docker kills it.
    if (info.State.Running) await container.stop({ t: 10 }).catch(ignoreMissing);
  }

  /** Removes the container; the data volume stays. */
  async remove(projectId: string): Promise<void> {
    // One look: the common case (a project without a PostgreSQL, at each sandbox start or resume) ends here.
    const info = await this.inspect(projectId);
    if (!info) return;
    await this.stopFound(projectId, info);
    await this.container(projectId).remove({ force: true, v: false }).catch(ignoreMissing);
  }

  /** Removes the container and its data. */
  async destroy(projectId: string): Promise<void> {
    await this.container(projectId).remove({ force: true, v: false }).catch(ignoreMissing);
    await this.deps.docker.getVolume(sandboxNames(projectId).postgresVolume).remove().catch(ignoreMissing);
  }
}
