/** Throwaway containers of the sandbox images, hardened the way the containers service runs a sandbox. */
import type { Docker } from '../../services/containers/index.js';

export const THROWAWAY_LABEL = 'vaporform.test';

/** Splits a non-TTY log buffer into stdout and stderr (each frame: 8-byte header, stream in byte 0, size in 4-7). */
function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (let at = 0; at + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(at + 4);
    const chunk = buffer.subarray(at + 8, at + 8 + size);
    (buffer[at] === 2 ? err : out).push(chunk);
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

export interface RunInImageOptions {
  env?: string[];
  /** Host directories mounted read-only: `host:container`. */
  readOnly?: string[];
  /** Labelled so that an afterAll can remove what a failed run left (`vaporform.test=<label>`). */
  label: string;
}

/**
 * Runs `script` with sh in a throwaway container of `image`: uid 1000, read-only root, no capabilities,
 * no-new-privileges, /tmp a tmpfs that may run programs, and no network. Returns its exit code and output.
 */
export async function runInImage(docker: Docker, image: string, script: string, options: RunInImageOptions) {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['sh', '-c', script],
    Env: options.env ?? [],
    User: '1000:1000',
    Labels: { [THROWAWAY_LABEL]: options.label },
    HostConfig: {
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      // Docker mounts a tmpfs noexec unless told otherwise; a sandbox runs programs from /tmp (a venv, `go run`).
      Tmpfs: { '/tmp': 'rw,exec,nosuid,nodev,size=512m' },
      Binds: (options.readOnly ?? []).map((bind) => `${bind}:ro`),
      NetworkMode: 'none',
    },
  });
  try {
    await container.start();
    const exit = await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return { code: exit.StatusCode as number, ...demux(logs) };
  } finally {
    await container.remove({ force: true });
  }
}

/** Removes the throwaway containers a run left behind under `label`. */
export async function removeThrowaways(docker: Docker, label: string): Promise<void> {
  const leftovers = await docker.listContainers({ all: true, filters: { label: [`${THROWAWAY_LABEL}=${label}`] } });
  await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
}
