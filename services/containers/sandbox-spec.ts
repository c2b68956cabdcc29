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
/** The environment variable that hands the agent its token (the agent removes it from its own environment). */
export const AGENT_TOKEN_ENV = 'VF_AGENT_TOKEN';

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
  /** The bearer token the exec agent accepts (see SandboxManager.agentToken). */
  agentToken: string;
  /** More labels (the deployment's). */
  labels?: Record<string, string>;
}): ContainerCreateOptions {
  const names = sandboxNames(options.projectId);
  return {
    name: names.container,
    Image: options.image,
    Hostname: 'sandbox',
    User: `${SANDBOX_UID}:${SANDBOX_UID}`,
    WorkingDir: WORKSPACE,
    Env: Object.entries({ HOME, ...options.env, [AGENT_TOKEN_ENV]: options.agentToken }).map(([key, value]) => `${key}=${value}`),
    Labels: { ...options.labels, [LABEL_PROJECT]: options.projectId, [LABEL_ROLE]: 'sandbox' },
    // No Cmd: the image's own runs, tini as PID 1 (reaps zombies) and the exec agent as the main process.
    HostConfig: {
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Memory: options.limits.memoryBytes,
      // Equal to Memory: no swap, so a hog meets the OOM killer instead of thrashing the host.
      MemorySwap: options.limits.memoryBytes,
      NanoCpus: Math.round(options.limits.cpus * 1e9),
      PidsLimit: options.limits.pids,
      Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
      // exec: build tools run what they compile there (go test, venvs, npx caches).
      Tmpfs: { '/tmp': 'rw,exec,nosuid,nodev,size=268435456' },
      Mounts: [
        { Type: 'volume', Source: names.workspaceVolume, Target: WORKSPACE },
        { Type: 'volume', Source: names.homeVolume, Target: HOME },
      ],
      NetworkMode: names.network,
      // Never the Docker socket, never the host's namespaces, never privileged.
      Privileged: false,
      RestartPolicy: { Name: 'no' },
    },
  };
}
