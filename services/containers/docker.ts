/** The Docker engine client. One per process; everything that talks to Docker goes through it. */
import Docker from 'dockerode';
import type { Config } from '../../lib/config.js';

export type { default as Docker } from 'dockerode';

export function createDockerClient(config: Config['docker']): Docker {
  if (config.host) {
    const url = new URL(config.host);
    if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
    return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
  }
  return new Docker({ socketPath: config.socketPath ?? '/var/run/docker.sock' });
}

/** Throws unless the engine answers. */
export async function pingDocker(docker: Docker): Promise<void> {
  await docker.ping();
}
