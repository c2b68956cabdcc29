/**
 * Each project's sandbox: created on first use, paused and later stopped when idle, resumed transparently
 * by any use, removed (after a snapshot of its workspace) with its project. Docker is the source of truth
 * for what runs; the `sandboxes` table remembers state and last use across API instances.
 */
import { createHmac } from 'node:crypto';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import type { Db } from '../../lib/db.js';
import { KeyedQueue } from '../../lib/keyed-queue.js';
import { AppError } from '../../lib/errors.js';
import { withProjectLock } from '../../lib/project-lock.js';
import type { ObjectStore } from '../../lib/object-store.js';
import { Throttle } from '../../lib/throttle.js';
import { AgentUnavailable, agentActivity, type AgentActivity } from './agent-client.js';
import type { DeploymentIdentity } from './deployment.js';
import type { SandboxDisks } from './sandbox-disk.js';
import type { ProjectServiceContainer } from './project-service.js';
import {
  AGENT_DIR,
  AGENT_PORT,
  AGENT_TOKEN_FILE,
  LABEL_PROJECT,
  LABEL_SPEC,
  LEGACY_AGENT_TOKEN_ENV,
  SANDBOX_SPEC_VERSION,
  sandboxCreateOptions,
  sandboxNames,
  sandboxSubnet,
  type SandboxLimits,
} from './sandbox-spec.js';

import * as store from './store.js';

const MAX_SUBNET_ATTEMPTS = 64;
const ICC_OPTION = 'com.docker.network.bridge.enable_icc';
const TOUCH_INTERVAL_MS = 1000;
/** The advisory lock scope of a project's sandbox lifecycle (see lib/project-lock.ts). */
const LIFECYCLE_LOCK = 'sandbox';
/** How often a request to a sandbox's agent checks that the sandbox was not paused under it. */
const AWAKE_CHECK_MS = 2000;

export type Stack = 'node' | 'python' | 'go';

export interface SandboxStatus {
  projectId: string;
  state: 'absent' | store.SandboxState;
  image: string | null;
  containerId: string | null;
  startedAt: string | null;
  lastUsedAt: string | null;
  limits: { memoryBytes: number; cpus: number; pids: number } | null;
}

export interface SandboxStats {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
}

export interface SandboxManagerDeps {
  docker: Docker;
  db: Db;
  objects: ObjectStore;
  imageFor: (stack: Stack) => string;
  limits: SandboxLimits;
  /** The private IPv4 range sandbox networks are carved from, one /28 each. */
  subnetPool: string;
  /** `terminalIdleMs`: a terminal left unattached and silent this long does not count as use. */
  idle: { pauseAfterMs: number; stopAfterMs: number; terminalIdleMs: number };
  /** Told of every state change (the service publishes them as events). */
  onChange: (projectId: string, state: SandboxStatus['state']) => void;
  onError: (err: unknown) => void;
  /** A server secret the exec agents' per-sandbox tokens are derived from (HMAC of the project id). */
  agentSecret: string;
  /** Each project's disk, behind its workspace and home volumes (its size is the project's quota). */
  disks: SandboxDisks;
  /** Labels every Docker resource of a sandbox with the deployment's id. */
  deployment: DeploymentIdentity;
  /**
   * Each project's own services (its PostgreSQL, its Redis), run beside its sandbox while the project's `services`
   * setting (which `enabled` reads) has them on.
   */
  services: { containers: Record<ProjectServiceName, ProjectServiceContainer>; enabled: (projectId: string) => Promise<ProjectServiceSettings> };
}

/** The services Vaporform can run beside a project's sandbox. */
export type ProjectServiceName = 'postgres' | 'redis';
export const PROJECT_SERVICE_NAMES: readonly ProjectServiceName[] = ['postgres', 'redis'];
export type ProjectServiceSettings = Record<ProjectServiceName, boolean>;

/** Where a sandbox's exec agent answers; null when the container predates the agent. */
export type AgentEndpoint = { url: string; token: string } | null;

function dockerStatus(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : undefined;
}

export class SandboxManager {
  /** One operation at a time per project in this process; `lifecycle` adds the lock shared by every instance. */
  private readonly queue = new KeyedQueue();
  private readonly touches = new Throttle(TOUCH_INTERVAL_MS);
  /** The exec agent's endpoint per project, read once per container; dropped whenever it is (re)created or removed. */
  private readonly agents = new Map<string, AgentEndpoint>();

  constructor(private readonly deps: SandboxManagerDeps) {}

  /**
   * A change of the sandbox's state (create, start, resume, pause, stop, remove): one at a time per project
   * across every API instance and worker of the deployment, so two cannot both create or start one container.
   * In this process the queue orders them; across processes a PostgreSQL advisory lock does.
   */
  private lifecycle<T>(projectId: string, work: () => Promise<T>): Promise<T> {
    return this.queue.run(projectId, () => withProjectLock(this.deps.db, projectId, LIFECYCLE_LOCK, work));
  }

  /** The sandbox's container and its state as Docker has it, or null when there is none. */
  private async existing(projectId: string): Promise<{ container: Docker.Container; info: Docker.ContainerInspectInfo } | null> {
    // Before any container use: after a reboot the disk must be mounted again, or the volumes would be empty.
    await this.deps.disks.ensure(projectId);
    const container = this.deps.docker.getContainer(sandboxNames(projectId).container);
    try {
      return { container, info: await container.inspect() };
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
      return null;
    }
  }

  /** The running container of the project's sandbox, created, started or resumed as needed. */
  ensureRunning(projectId: string, stack: Stack): Promise<Docker.Container> {
    return this.queue.run(projectId, async () => {
      // The common case, a sandbox that runs, takes no shared lock; creating, starting or resuming one does.
      const current = await this.existing(projectId);
      if (current?.info.State.Running && !current.info.State.Paused) {
        this.touch(projectId);
        return current.container;
      }
      return withProjectLock(this.deps.db, projectId, LIFECYCLE_LOCK, () => this.startLocked(projectId, stack));
    });
  }

  private async startLocked(projectId: string, stack: Stack): Promise<Docker.Container> {
    let { container, info } = await this.ensureCreated(projectId, stack);
    if (!info.State.Running && info.Config.Labels?.[LABEL_SPEC] !== SANDBOX_SPEC_VERSION) {
      // Made by an older spec (its agent's token in the environment, user code able to read it): made anew,
      // which loses nothing of a stopped sandbox (its root is read-only, its /tmp gone; the volumes stay).
      await container.remove({ force: true, v: false });
      ({ container, info } = await this.ensureCreated(projectId, stack));
    }
    // Up before the sandbox, so that what the sandbox starts finds them. A service that fails does not keep the sandbox
    // from starting (one could not fix anything then): the failure is reported, the app finds no database.
    await this.syncProjectServices(projectId, true).catch(this.deps.onError);
    if (info.State.Paused) await container.unpause();
    else if (!info.State.Running) {
      this.agents.delete(projectId); // a (re)started container may get another address
      await this.handOverToken(container, projectId);
      await container.start();
    }
    if (info.State.Paused || !info.State.Running) {
      await store.setState(this.deps.db, projectId, 'running');
      this.deps.onChange(projectId, 'running');
    }
    this.touch(projectId);
    return container;
  }

  /** The project's service containers, in a fixed order (PostgreSQL first). */
  private get serviceContainers(): ProjectServiceContainer[] {
    return PROJECT_SERVICE_NAMES.map((name) => this.deps.services.containers[name]);
  }

  /**
   * Makes the project's services match its setting (only under the lifecycle lock): one turned off has its container
   * removed (the data volume stays until the project is deleted); one turned on runs when `sandboxRuns` (else it waits
   * for the next start). Each is tried whatever another did; the first failure is thrown, the others reported.
   */
  private async syncProjectServices(projectId: string, sandboxRuns: boolean): Promise<void> {
    const settings = await this.deps.services.enabled(projectId);
    const failures: unknown[] = [];
    let peersAllowed = false;
    for (const name of PROJECT_SERVICE_NAMES) {
      const service = this.deps.services.containers[name];
      try {
        if (!settings[name]) await service.remove(projectId);
        else if (sandboxRuns) {
          if (!peersAllowed) await this.allowPeers(projectId);
          peersAllowed = true;
          await service.ensureRunning(projectId);
        }
      } catch (err) {
        failures.push(err);
      }
    }
    failures.slice(1).forEach(this.deps.onError);
    if (failures.length > 0) throw failures[0];
  }

  /** After a change of the project's `services` setting: its services started or removed now, if need be. */
  syncServices(projectId: string): Promise<void> {
    return this.lifecycle(projectId, async () => {
      const info = (await this.existing(projectId))?.info;
      await this.syncProjectServices(projectId, info?.State.Running === true && !info.State.Paused);
    });
  }

  /** The variables of the project's services that are on (DATABASE_URL and PG*, REDIS_URL and REDIS_*) for its commands. */
  servicesEnv(projectId: string, settings: ProjectServiceSettings): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of PROJECT_SERVICE_NAMES) if (settings[name]) Object.assign(env, this.deps.services.containers[name].env(projectId));
    return env;
  }

  /** The PostgreSQL's variables for the project's commands (DATABASE_URL, PG*): what the app connects with. */
  postgresEnv(projectId: string): Record<string, string> {
    return this.deps.services.containers.postgres.env(projectId);
  }

  /** The Redis's variables for the project's commands (REDIS_URL, REDIS_*). */
  redisEnv(projectId: string): Record<string, string> {
    return this.deps.services.containers.redis.env(projectId);
  }

  /**
   * Networks made before project services kept their containers apart (`enable_icc` false), which would keep the
   * sandbox from its services: such a network is made anew and what was on it reconnected (a running sandbox gets a
   * new address; its open connections break once).
   */
  private async allowPeers(projectId: string): Promise<void> {
    const names = sandboxNames(projectId);
    const network = this.deps.docker.getNetwork(names.network);
    const info = (await network.inspect()) as { Options?: Record<string, string>; Containers?: Record<string, unknown> };
    if (info.Options?.[ICC_OPTION] !== 'false') return;
    const attached = Object.keys(info.Containers ?? {});
    for (const id of attached) await network.disconnect({ Container: id, Force: true });
    await network.remove();
    await this.ensureNetwork(projectId);
    for (const id of attached) await this.deps.docker.getNetwork(names.network).connect({ Container: id });
    this.agents.delete(projectId);
  }

  /** The token the project's exec agent accepts: derived from the server secret, so nothing is stored. */
  agentToken(projectId: string): string {
    return createHmac('sha256', this.deps.agentSecret).update(`vaporform-agent:${projectId}`).digest('hex');
  }

  /**
   * Puts the agent's token where it reads it at start: a file only root may read, in the agent's own volume (user
   * code runs as uid 1000 and cannot open the directory). The agent deletes it once read, so it goes in before
   * every start. Never in the container's environment, which every `docker exec` inherits.
   */
  private async handOverToken(container: Docker.Container, projectId: string): Promise<void> {
    const pack = tar.pack();
    pack.entry({ name: AGENT_TOKEN_FILE, mode: 0o400, uid: 0, gid: 0, mtime: new Date() }, `${this.agentToken(projectId)}\n`);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    await container.putArchive(Buffer.concat(chunks), { path: AGENT_DIR });
  }

  /**
   * The project's exec agent (`http://<address on its project network>:7681` and its token), the sandbox created,
   * started or resumed as needed. Null for a container made before the agent existed: use docker exec there.
   */
  async agentEndpoint(projectId: string, stack: Stack): Promise<AgentEndpoint> {
    const container = await this.ensureRunning(projectId, stack);
    const cached = this.agents.get(projectId);
    if (cached !== undefined) return cached;
    const endpoint = this.endpointOf(projectId, await container.inspect());
    if (endpoint !== undefined) this.agents.set(projectId, endpoint);
    return endpoint ?? null;
  }

  /**
   * Waits for `work` (a request to the sandbox's agent), resuming the sandbox should it be paused meanwhile: a
   * pause can slip in between the resume that preceded a request and the request reaching the agent (another
   * instance's idle sweep saw nothing running yet), and a paused agent would never answer.
   */
  async keepAwakeWhile<T>(projectId: string, stack: Stack, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const watch = () => {
      timer = setTimeout(() => {
        this.deps.docker
          .getContainer(sandboxNames(projectId).container)
          .inspect()
          .then((info) => (info.State.Paused ? this.ensureRunning(projectId, stack) : undefined))
          .catch(() => {}) // gone or failing: the request itself reports that
          .finally(() => {
            if (timer !== undefined) watch();
          });
      }, AWAKE_CHECK_MS);
      timer.unref();
    };
    watch();
    try {
      return await work;
    } finally {
      clearTimeout(timer);
      timer = undefined;
    }
  }

  /** The agent's endpoint as the container's inspection shows it; undefined while it has no address yet. */
  private endpointOf(projectId: string, info: Docker.ContainerInspectInfo): AgentEndpoint | undefined {
    const token = this.agentToken(projectId);
    const host = info.NetworkSettings.Networks[sandboxNames(projectId).network]?.IPAddress;
    if (!host) return undefined;
    const hasAgent =
      info.Config.Labels?.[LABEL_SPEC] === SANDBOX_SPEC_VERSION ||
      // An older container, still running since before an upgrade (made anew at its next start).
      (info.Config.Env ?? []).includes(`${LEGACY_AGENT_TOKEN_ENV}=${token}`);
    return hasAgent ? { url: `http://${host}:${AGENT_PORT}`, token } : null;
  }

  /**
   * What runs in the sandbox for someone now: the agent's counts (its commands, terminals) plus the running
   * `docker exec`s (streaming runs, fallbacks), all read from the sandbox itself, so every API instance sees the
   * others' work. Null when the sandbox does not run.
   */
  async liveWork(projectId: string): Promise<AgentActivity | null> {
    const { docker } = this.deps;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await docker.getContainer(sandboxNames(projectId).container).inspect();
    } catch (err) {
      if (dockerStatus(err) === 404) return null;
      throw err;
    }
    if (!info.State.Running || info.State.Paused) return null;
    const execs = await Promise.all(
      (info.ExecIDs ?? []).map((id) =>
        docker
          .getExec(id)
          .inspect()
          .then(
            (exec) => exec.Running,
            (err: unknown) => {
              if (dockerStatus(err) === 404) return false; // ended and cleaned up meanwhile
              throw err;
            },
          ),
      ),
    );
    const counts: AgentActivity = { commands: execs.filter(Boolean).length, terminals: 0 };
    const endpoint = this.endpointOf(projectId, info);
    if (endpoint) {
      try {
        for (const [kind, count] of Object.entries(await agentActivity(endpoint, { terminalIdleMs: this.deps.idle.terminalIdleMs }))) counts[kind] = (counts[kind] ?? 0) + count;
      } catch (err) {
        // An agent that cannot be reached runs nothing; an answer that makes no sense is reported.
        if (!(err instanceof AgentUnavailable)) throw err;
      }
    }
    return counts;
  }

  /** Forgets the cached agent endpoint (e.g. after it stopped answering). */
  forgetAgent(projectId: string): void {
    this.agents.delete(projectId);
  }

  /** Records use for the idle policy, at most once a second per sandbox and off the request's path. */
  private touch(projectId: string): void {
    if (!this.touches.take(projectId)) return;
    store.touch(this.deps.db, projectId).catch(this.deps.onError);
  }

  /**
   * The host directory behind the project's /workspace (the volume's mount point), creating the sandbox if
   * need be. Only for services that must touch files faster than an exec allows; they must resolve every
   * path with the workspace's own rules (symlinks included), never the host's.
   */
  workspaceDir(projectId: string, stack: Stack): Promise<string> {
    return this.queue.run(projectId, async () => {
      if (!(await this.existing(projectId))) {
        await withProjectLock(this.deps.db, projectId, LIFECYCLE_LOCK, () => this.ensureCreated(projectId, stack));
      }
      return this.deps.disks.paths(projectId).workspace;
    });
  }

  /** Only under the lifecycle lock. */
  private async ensureCreated(
    projectId: string,
    stack: Stack,
  ): Promise<{ container: Docker.Container; info: Docker.ContainerInspectInfo }> {
    const { docker } = this.deps;
    const names = sandboxNames(projectId);
    const current = await this.existing(projectId);
    if (current) return current;
    await this.ensureNetwork(projectId);
    this.agents.delete(projectId);
    const image = this.deps.imageFor(stack);
    let container: Docker.Container;
    try {
      container = await docker.createContainer(
        sandboxCreateOptions({ projectId, image, limits: this.deps.limits, labels: await this.deps.deployment.labels() }),
      );
    } catch (err) {
      if (dockerStatus(err) === 404) {
        throw new AppError(
          'SERVICE_UNAVAILABLE',
          `The sandbox image ${image} is not built yet: run \`npm run images:build\` (npm start does it)`,
        );
      }
      if (dockerStatus(err) === 409) {
        const raced = docker.getContainer(names.container);
        return { container: raced, info: await raced.inspect() };
      }
      throw err;
    }
    await store.upsertSandbox(this.deps.db, { projectId, containerId: container.id, image, state: 'created' });
    this.deps.onChange(projectId, 'created');
    return { container, info: await container.inspect() };
  }

  private async ensureNetwork(projectId: string): Promise<void> {
    const names = sandboxNames(projectId);
    try {
      await this.deps.docker.getNetwork(names.network).inspect();
      return;
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
    }
    for (let attempt = 0; attempt < MAX_SUBNET_ATTEMPTS; attempt++) {
      const { subnet, gateway } = sandboxSubnet(projectId, this.deps.subnetPool, attempt);
      try {
        await this.deps.docker.createNetwork({
          Name: names.network,
          Driver: 'bridge',
          CheckDuplicate: true,
          Labels: { ...(await this.deps.deployment.labels()), [LABEL_PROJECT]: projectId },
          IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: gateway }] },
          Options: {
            'com.docker.network.bridge.name': names.bridge,
            // The sandbox reaches the project's own services (PostgreSQL, Redis); nothing else is ever on this network.
            [ICC_OPTION]: 'true',
          },
        });
        return;
      } catch (err) {
        if (dockerStatus(err) === 409) return; // another request made it meanwhile
        if (!/overlap/i.test(String((err as Error).message))) throw err;
        // That subnet is taken by another network: try the next.
      }
    }
    throw new AppError('SERVICE_UNAVAILABLE', 'No free subnet is left for a sandbox network: widen SANDBOX_SUBNET_POOL');
  }

  async status(projectId: string): Promise<SandboxStatus> {
    const row = await store.findSandbox(this.deps.db, projectId);
    const container = this.deps.docker.getContainer(sandboxNames(projectId).container);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
      return {
        projectId,
        state: 'absent',
        image: null,
        containerId: null,
        startedAt: null,
        lastUsedAt: row?.last_used_at.toISOString() ?? null,
        limits: null,
      };
    }
    const state: store.SandboxState = info.State.Paused
      ? 'paused'
      : info.State.Running
        ? 'running'
        : info.State.StartedAt.startsWith('0001')
          ? 'created'
          : 'stopped';
    return {
      projectId,
      state,
      image: info.Config.Image,
      containerId: info.Id,
      startedAt: state === 'running' || state === 'paused' ? info.State.StartedAt : null,
      lastUsedAt: row?.last_used_at.toISOString() ?? null,
      limits: {
        memoryBytes: info.HostConfig.Memory ?? 0,
        cpus: (info.HostConfig.NanoCpus ?? 0) / 1e9,
        pids: info.HostConfig.PidsLimit ?? 0,
      },
    };
  }

  stop(projectId: string): Promise<void> {
    return this.lifecycle(projectId, async () => {
      const container = this.deps.docker.getContainer(sandboxNames(projectId).container);
      const info = await this.inspectOrNotFound(container);
      if (info.State.Paused) await container.unpause();
      if (info.State.Running) await container.stop({ t: 5 });
      for (const service of this.serviceContainers) await service.stop(projectId);
      this.agents.delete(projectId);
      await store.setState(this.deps.db, projectId, 'stopped');
      this.deps.onChange(projectId, 'stopped');
    });
  }

  async restart(projectId: string, stack: Stack): Promise<void> {
    await this.stop(projectId).catch((err: unknown) => {
      if (!(err instanceof AppError && err.code === 'NOT_FOUND')) throw err;
    });
    await this.ensureRunning(projectId, stack);
  }

  /**
   * Pauses a running sandbox (idle policy); the next use resumes it. One that runs something for someone at that
   * moment (a command that reached its agent, a terminal) is left running: paused, the command would hang.
   */
  pause(projectId: string): Promise<void> {
    return this.lifecycle(projectId, async () => {
      const container = this.deps.docker.getContainer(sandboxNames(projectId).container);
      const info = await this.inspectOrNotFound(container);
      if (!info.State.Running || info.State.Paused) return;
      const work = await this.liveWork(projectId).catch(() => null);
      if (work !== null && Object.values(work).some((count) => count > 0)) return;
      await container.pause();
      for (const service of this.serviceContainers) await service.pause(projectId);
      await store.setState(this.deps.db, projectId, 'paused');
      this.deps.onChange(projectId, 'paused');
    });
  }

  async stats(projectId: string): Promise<SandboxStats> {
    const container = this.deps.docker.getContainer(sandboxNames(projectId).container);
    const info = await this.inspectOrNotFound(container);
    if (!info.State.Running) throw new AppError('CONFLICT', 'The sandbox is not running');
    const raw = (await container.stats({ stream: false })) as Docker.ContainerStats;
    const cpuDelta = raw.cpu_stats.cpu_usage.total_usage - raw.precpu_stats.cpu_usage.total_usage;
    const systemDelta = (raw.cpu_stats.system_cpu_usage ?? 0) - (raw.precpu_stats.system_cpu_usage ?? 0);
    const cpus = raw.cpu_stats.online_cpus ?? raw.cpu_stats.cpu_usage.percpu_usage?.length ?? 1;
    const cache = (raw.memory_stats.stats as { cache?: number; inactive_file?: number } | undefined)?.cache ?? 0;
    return {
      cpuPercent: systemDelta > 0 ? Math.round((cpuDelta / systemDelta) * cpus * 1000) / 10 : 0,
      memoryBytes: Math.max(0, (raw.memory_stats.usage ?? 0) - cache),
      memoryLimitBytes: raw.memory_stats.limit ?? 0,
      pids: (raw as { pids_stats?: { current?: number } }).pids_stats?.current ?? 0,
    };
  }

  async logs(projectId: string, tail: number): Promise<string> {
    const container = this.deps.docker.getContainer(sandboxNames(projectId).container);
    await this.inspectOrNotFound(container);
    const buffer = (await container.logs({ stdout: true, stderr: true, tail, timestamps: true })) as Buffer;
    return demuxToText(buffer);
  }

  /** Removes the container (and its services') only: the volumes stay for the next ones. */
  removeContainer(projectId: string): Promise<void> {
    return this.lifecycle(projectId, async () => {
      const container = this.deps.docker.getContainer(sandboxNames(projectId).container);
      await this.inspectOrNotFound(container);
      await container.remove({ force: true, v: false });
      for (const service of this.serviceContainers) await service.remove(projectId);
      this.agents.delete(projectId);
      await store.setState(this.deps.db, projectId, 'stopped');
      this.deps.onChange(projectId, 'absent');
    });
  }

  /**
   * Removes everything of the sandbox: container, network and volumes, after saving the workspace as a tar
   * snapshot in object storage (`snapshots/<project>/<time>.tar`) and its services' data beside it
   * (`<time>.postgres.dump`, `<time>.redis.rdb`). Returns the workspace snapshot's key, or null when there was no
   * container to save from.
   */
  destroy(projectId: string): Promise<string | null> {
    return this.lifecycle(projectId, async () => {
      const { docker } = this.deps;
      const names = sandboxNames(projectId);
      const container = docker.getContainer(names.container);
      const snapshot = `snapshots/${projectId}/${new Date().toISOString().replace(/[:.]/g, '-')}`;
      let snapshotKey: string | null = null;
      try {
        await container.inspect();
        await this.deps.disks.ensure(projectId);
        const archive = await container.getArchive({ path: '/workspace' });
        snapshotKey = `${snapshot}.tar`;
        await this.deps.objects.put(snapshotKey, archive);
        await container.remove({ force: true, v: false });
        this.agents.delete(projectId);
      } catch (err) {
        if (dockerStatus(err) !== 404) throw err;
      }
      // The services' data is saved before they go (a failure to save is reported and does not keep the project).
      for (const service of this.serviceContainers) {
        await service.saveData(projectId, this.deps.objects, snapshot).catch(this.deps.onError);
        await service.destroy(projectId);
      }
      for (const volume of [names.workspaceVolume, names.homeVolume, names.agentVolume]) {
        await docker
          .getVolume(volume)
          .remove()
          .catch((err: unknown) => {
            if (dockerStatus(err) !== 404) throw err;
          });
      }
      await this.deps.disks.remove(projectId);
      await docker
        .getNetwork(names.network)
        .remove()
        .catch((err: unknown) => {
          if (dockerStatus(err) !== 404) throw err;
        });
      await store.deleteSandbox(this.deps.db, projectId);
      this.deps.onChange(projectId, 'absent');
      return snapshotKey;
    });
  }

  /** What is recorded of the projects' sandboxes: state and last use (absent: no sandbox). */
  async activity(projectIds: string[]): Promise<Map<string, { state: store.SandboxState; lastUsedAt: Date }>> {
    const rows = await store.sandboxActivity(this.deps.db, projectIds);
    return new Map(rows.map((row) => [row.project_id, { state: row.state, lastUsedAt: row.last_used_at }]));
  }

  /** The idle policy: pause what has been idle a while, stop what has been paused long enough. */
  async sweepIdle(): Promise<{ paused: string[]; stopped: string[] }> {
    const { db, idle } = this.deps;
    const paused: string[] = [];
    const stopped: string[] = [];
    for (const { project_id } of await store.idleSandboxes(db, 'running', idle.pauseAfterMs)) {
      // No request for a while, but a long command or an open terminal is use too: a paused one would time out.
      const busy = await this.liveWork(project_id).then(
        (work) => work !== null && Object.values(work).some((count) => count > 0),
        (err: unknown) => {
          this.deps.onError(err);
          return true; // unknown: not paused this time
        },
      );
      if (busy) {
        await store.touch(db, project_id).catch(this.deps.onError);
        continue;
      }
      await this.pause(project_id).then(() => paused.push(project_id), this.deps.onError);
    }
    for (const { project_id } of await store.idleSandboxes(db, 'paused', idle.stopAfterMs)) {
      // Paused a moment ago by this sweep (a slow sweep saw it idle past both limits): stopped by a later one.
      if (paused.includes(project_id)) continue;
      await this.stop(project_id).then(() => stopped.push(project_id), this.deps.onError);
    }
    return { paused, stopped };
  }

  private async inspectOrNotFound(container: Docker.Container): Promise<Docker.ContainerInspectInfo> {
    try {
      return await container.inspect();
    } catch (err) {
      if (dockerStatus(err) === 404) throw new AppError('NOT_FOUND', 'This project has no sandbox yet');
      throw err;
    }
  }
}

/** Docker multiplexes stdout and stderr of a non-TTY container in 8-byte-headed frames. */
export function demuxToText(buffer: Buffer): string {
  let text = '';
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    text += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return text;
}
