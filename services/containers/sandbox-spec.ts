/**
 * What a project's sandbox is, as Docker create options: every hardening choice in one place, so that a
 * test can read it and an audit has one file to check.
 */
import type { ContainerCreateOptions } from 'dockerode';

export interface SandboxLimits {
  memoryBytes: number;
  /** CPUs as a fraction: 1 = one core. */
  cpus: number;
  pids: number;
}

export const SANDBOX_UID = 1000;
export const WORKSPACE = '/workspace';
export const HOME = '/home/sandbox';
export const LABEL_PROJECT = 'vaporform.project';
export const LABEL_ROLE = 'vaporform.role';
/** The deployment a resource belongs to (see deployment.ts). */
export const LABEL_DEPLOYMENT = 'vaporform.deployment';
/** The port the in-sandbox exec agent (sandbox-images/agent) listens on, on the sandbox's own network. */
export const AGENT_PORT = 7681;
/**
 * Where the agent finds its token: a volume of its own (root-only, mode 0700 from the image), into which the API puts
 * `agent-token` (root, 0400) before each start; the agent reads it and deletes it (sandbox-images/agent/identity.go).
 * A volume, because Docker copies files into a container's volumes, not into its read-only root or a tmpfs.
 */
export const AGENT_DIR = '/run/vaporform';
export const AGENT_TOKEN_FILE = 'agent-token';
/**
 * Which version of this spec made a container. 2: the agent runs as root (user code as uid 1000) and reads its token
 * from AGENT_DIR. Containers without it (agent as uid 1000, its token in the environment) are made anew at their
 * next start (SandboxManager).
 */
export const LABEL_SPEC = 'vaporform.sandbox-spec';
export const SANDBOX_SPEC_VERSION = '2';
/** How a container of an older spec handed the agent its token: in its environment, readable by user code. */
export const LEGACY_AGENT_TOKEN_ENV = 'VF_AGENT_TOKEN';

/** Names of a project's Docker objects; all derived from its id so that nothing needs looking up. */
export function sandboxNames(projectId: string) {
  const short = projectId.replaceAll('-', '').slice(0, 11);
  return {
    container: `vf-sandbox-${projectId}`,
    network: `vf-net-${projectId}`,
    // Linux interface names are at most 15 characters (4 + 11); the guard matches them by the prefix.
    bridge: `vfbr${short}`,
    workspaceVolume: `vf-workspace-${projectId}`,
    homeVolume: `vf-home-${projectId}`,
    /** Mounted at AGENT_DIR: the agent's token, only between the API putting it there and the agent reading it. */
    agentVolume: `vf-agent-${projectId}`,
    /** The project's own PostgreSQL (when its `services.postgres` setting is on), and its data. */
    postgresContainer: `vf-pg-${projectId}`,
    postgresVolume: `vf-pgdata-${projectId}`,
    /** The project's own Redis (when its `services.redis` setting is on), and its data. */
    redisContainer: `vf-redis-${projectId}`,
    redisVolume: `vf-redisdata-${projectId}`,
  };
}

/**
 * Each sandbox network gets a /28 of its own from a private pool (4,096 of them in a /16): Docker's default
 * pools run out after about thirty networks. The first choice comes from the project id, so that two API
 * instances usually agree; on a clash the caller tries the next one.
 */
export function sandboxSubnet(projectId: string, pool: string, attempt: number): { subnet: string; gateway: string } {
  const [address, bits] = pool.split('/');
  const octets = (address ?? '').split('.').map(Number);
  const prefix = Number(bits);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !(prefix >= 8 && prefix <= 24)) {
    throw new Error(`SANDBOX_SUBNET_POOL must be an IPv4 CIDR between /8 and /24, got "${pool}"`);
  }
  const slots = 2 ** (28 - prefix);
  const start = Number.parseInt(projectId.replaceAll('-', '').slice(0, 8), 16);
  const slot = (start + attempt) % slots;
  const base = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const network = ((base & ~(2 ** (32 - prefix) - 1)) + slot * 16) >>> 0;
  const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return { subnet: `${dotted(network)}/28`, gateway: dotted(network + 1) };
}

export function sandboxCreateOptions(options: {
  projectId: string;
  image: string;
  limits: SandboxLimits;
  env?: Record<string, string>;
  /** More labels (the deployment's). */
  labels?: Record<string, string>;
}): ContainerCreateOptions {
  const names = sandboxNames(options.projectId);
  const labels = { ...options.labels, [LABEL_PROJECT]: options.projectId };
  return {
    name: names.container,
    Image: options.image,
    Hostname: 'sandbox',
    // tini and the exec agent run as root, so that user code (which the agent runs as SANDBOX_UID, as every
    // `docker exec` of the API does) can neither signal, trace nor read them (/proc/1/environ, /proc/<agent>/mem).
    // Root with only the capabilities below: no other root power (no DAC_OVERRIDE: it reads what root owns).
    User: '0:0',
    WorkingDir: WORKSPACE,
    // Never a secret: every `docker exec` inherits these, and `docker inspect` shows them. The agent's token
    // comes through AGENT_DIR instead.
    Env: Object.entries({ HOME, ...options.env }).map(([key, value]) => `${key}=${value}`),
    Labels: { ...labels, [LABEL_ROLE]: 'sandbox', [LABEL_SPEC]: SANDBOX_SPEC_VERSION },
    // No Cmd: the image's own runs, tini as PID 1 (reaps zombies) and the exec agent as the main process.
    HostConfig: {
      CapDrop: ['ALL'],
      // The agent's, never user code's: the kernel clears them when the agent's child becomes SANDBOX_UID, and
      // no-new-privileges keeps an exec from giving any back (its bounding set still lists them, inertly).
      CapAdd: [
        // setuid/setgid/setgroups in each child the agent starts: it becomes SANDBOX_UID:SANDBOX_UID, no other group;
        // and setfsuid/setfsgid on a thread of the agent's to open a terminal (the shell's own) or read /proc/<pid>/fd
        // as the sandbox user (sandbox-images/agent/identity.go).
        'SETUID',
        'SETGID',
        // Signals to the sandbox user's process groups: a command's timeout and leftovers, a process's stop, a
        // terminal's hang-up (another uid's processes need it).
        'KILL',
      ],
      ...confined(options.limits),
      // exec: build tools run what they compile there (go test, venvs, npx caches).
      Tmpfs: { '/tmp': 'rw,exec,nosuid,nodev,size=268435456' },
      Mounts: [
        { Type: 'volume', Source: names.workspaceVolume, Target: WORKSPACE },
        { Type: 'volume', Source: names.homeVolume, Target: HOME },
        {
          Type: 'volume',
          Source: names.agentVolume,
          Target: AGENT_DIR,
          // Made by Docker with the container, labelled so that the reaper finds it with the rest; its root copied
          // from the image's AGENT_DIR (root, 0700).
          VolumeOptions: { NoCopy: false, Labels: labels, DriverConfig: { Name: 'local', Options: {} } },
        },
      ],
      NetworkMode: names.network,
      // Never the Docker socket, never the host's namespaces, never privileged.
      Privileged: false,
      RestartPolicy: { Name: 'no' },
    },
  };
}

/** What a project's PostgreSQL may use (PROJECT_POSTGRES_*). */
export type PostgresLimits = SandboxLimits;

/** The project's PostgreSQL as its sandbox reaches it: this name on the project's network, nowhere else. */
export const POSTGRES_HOST = 'postgres';
export const POSTGRES_PORT = 5432;
/** The role and database the app gets (made by sandbox-images/postgres/entrypoint.sh on the first start). */
export const POSTGRES_USER = 'app';
export const POSTGRES_DATABASE = 'app';
/** The image's postgres user: owns the data volume and the password file. */
export const POSTGRES_UID = 999;
/** The data volume's mount point; the cluster is in `data/` below it. */
export const POSTGRES_VOLUME_DIR = '/var/lib/postgresql';
/** Put into the data volume (postgres, 0400) before each start; the entrypoint sets the role's password from it and deletes it. */
export const POSTGRES_PASSWORD_FILE = 'app-password';

/**
 * What every container of a project shares: no privilege gained by exec, a read-only root, and its limits. Memory
 * and swap are equal: no swap, so a hog meets the OOM killer instead of thrashing the host.
 */
function confined(limits: SandboxLimits) {
  return {
    SecurityOpt: ['no-new-privileges'],
    ReadonlyRootfs: true,
    Memory: limits.memoryBytes,
    MemorySwap: limits.memoryBytes,
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pids,
    Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
  };
}

/** What a project service's container is (see postgresCreateOptions, redisCreateOptions). */
interface ServiceContainerSpec {
  projectId: string;
  image: string;
  limits: SandboxLimits;
  labels?: Record<string, string> | undefined;
  /** Its role label, and the host name the sandbox finds it by on the project's network. */
  role: 'postgres' | 'redis';
  host: string;
  container: string;
  uid: number;
  volume: string;
  volumeDir: string;
  tmpfs: Record<string, string>;
  shmSize?: number;
}

/**
 * A project's service, hardened like its sandbox where the service allows: the image's service user (never root), no
 * capability at all, no-new-privileges, a read-only root (tmpfs where it must write), limits, no published port, only
 * the project's network, where the sandbox finds it by its host name. No password in its environment.
 */
function serviceCreateOptions(spec: ServiceContainerSpec): ContainerCreateOptions {
  const network = sandboxNames(spec.projectId).network;
  const labels = { ...spec.labels, [LABEL_PROJECT]: spec.projectId, [LABEL_ROLE]: spec.role };
  return {
    name: spec.container,
    Image: spec.image,
    Hostname: spec.host,
    User: `${spec.uid}:${spec.uid}`,
    Env: [],
    Labels: labels,
    HostConfig: {
      CapDrop: ['ALL'],
      ...confined(spec.limits),
      ...(spec.shmSize === undefined ? {} : { ShmSize: spec.shmSize }),
      Tmpfs: spec.tmpfs,
      Mounts: [
        {
          Type: 'volume',
          Source: spec.volume,
          Target: spec.volumeDir,
          // Made by Docker with the container, labelled for the reaper; its root (the service user's, 0700) copied from the image.
          VolumeOptions: { NoCopy: false, Labels: labels, DriverConfig: { Name: 'local', Options: {} } },
        },
      ],
      NetworkMode: network,
      PortBindings: {},
      PublishAllPorts: false,
      Privileged: false,
      // Nothing else would bring it back while its sandbox runs (an OOM-killed server, say); a stop is no failure.
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [spec.host] } } },
  };
}

export function postgresCreateOptions(options: {
  projectId: string;
  image: string;
  limits: PostgresLimits;
  /** More labels (the deployment's). */
  labels?: Record<string, string>;
}): ContainerCreateOptions {
  const names = sandboxNames(options.projectId);
  return serviceCreateOptions({
    ...options,
    role: 'postgres',
    host: POSTGRES_HOST,
    container: names.postgresContainer,
    uid: POSTGRES_UID,
    volume: names.postgresVolume,
    volumeDir: POSTGRES_VOLUME_DIR,
    // Sorts and hashes that spill, parallel workers' shared memory: small, counted against Memory.
    shmSize: 64 * 1024 * 1024,
    // The socket's directory owned by postgres (Docker keeps the image's mode, 2775, and ignores `mode=`).
    tmpfs: {
      '/run/postgresql': `rw,noexec,nosuid,nodev,uid=${POSTGRES_UID},gid=${POSTGRES_UID},size=1048576`,
      '/tmp': 'rw,noexec,nosuid,nodev,size=67108864',
    },
  });
}

/** What a project's Redis may use (PROJECT_REDIS_*). */
export type RedisLimits = SandboxLimits;

/** The project's Redis as its sandbox reaches it: this name on the project's network, nowhere else. */
export const REDIS_HOST = 'redis';
export const REDIS_PORT = 6379;
/** The image's redis user: owns the data volume, the password file and the configuration. */
export const REDIS_UID = 999;
/** The data volume's mount point: the append-only files and dump.rdb. */
export const REDIS_VOLUME_DIR = '/var/lib/redis';
/** Put into the data volume (redis, 0400) before each start; the entrypoint writes it into the configuration and deletes it. */
export const REDIS_PASSWORD_FILE = 'requirepass';
/** Where the entrypoint writes the configuration (redis, 0600): on the tmpfs /run/redis, gone with the container's stop. */
export const REDIS_CONFIG_FILE = '/run/redis/redis.conf';

export function redisCreateOptions(options: {
  projectId: string;
  image: string;
  limits: RedisLimits;
  /** More labels (the deployment's). */
  labels?: Record<string, string>;
}): ContainerCreateOptions {
  const names = sandboxNames(options.projectId);
  return serviceCreateOptions({
    ...options,
    role: 'redis',
    host: REDIS_HOST,
    container: names.redisContainer,
    uid: REDIS_UID,
    volume: names.redisVolume,
    volumeDir: REDIS_VOLUME_DIR,
    // The configuration (with the password) only: Redis writes its data and temporary files into the volume.
    tmpfs: { '/run/redis': `rw,noexec,nosuid,nodev,uid=${REDIS_UID},gid=${REDIS_UID},size=1048576` },
  });
}
