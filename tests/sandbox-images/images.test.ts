/**
 * The sandbox images: built from Debian's packages without a registry (first run: a minute or two), then each one
 * runs hardened the way the containers service runs it (uid 1000, read-only root filesystem, no capabilities,
 * no-new-privileges, /tmp a tmpfs, no network) and must hold what its stack promises. A second build is a no-op.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  baseImageName,
  ensureSandboxImages,
  sandboxImageName as taggedImageName,
  STACKS,
  type SandboxImageResult,
  type Stack,
} from '../../sandbox-images/build.js';
import { createDockerClient, type Docker } from '../../services/containers/index.js';

const LABEL = { 'vaporform.test': 'images' };
let docker: Docker;
let first: SandboxImageResult[];
const tag = inject('imageTag');
const sandboxImageName = (stack: Stack) => taggedImageName(stack, tag);

beforeAll(async () => {
  docker = createDockerClient({ socketPath: undefined, host: undefined });
  first = await ensureSandboxImages(docker, STACKS, {
    tag,
    log: (line) => {
      if (/^(build|built|skip|npm pack|waiting)/.test(line)) console.log(line);
    },
  });
}, 900_000);

afterAll(async () => {
  if (!docker) return;
  const leftovers = await docker.listContainers({ all: true, filters: { label: ['vaporform.test=images'] } });
  await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
});

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

/** Runs `script` with sh in a throwaway container of `image`, hardened like a sandbox; returns its exit and output. */
async function runIn(image: string, script: string, env: string[] = []) {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['sh', '-c', script],
    Env: env,
    User: '1000:1000',
    Labels: LABEL,
    HostConfig: {
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      // Docker mounts a tmpfs noexec unless told otherwise; a sandbox runs programs from /tmp (a venv, `go run`).
      Tmpfs: { '/tmp': 'rw,exec,nosuid,nodev,size=512m' },
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

/** Like runIn, but fails the test with the output when the script fails; returns stdout's lines. */
async function ok(image: string, script: string, env: string[] = []): Promise<string[]> {
  const result = await runIn(image, script, env);
  expect(result.code, `${script}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`).toBe(0);
  return result.stdout.trim().split('\n');
}

describe('sandbox images', () => {
  it('builds the rootfs, the base and one image per stack, each labelled with its inputs hash', async () => {
    expect(first.map((image) => image.name)).toEqual([
      'vaporform/rootfs:bookworm',
      baseImageName(tag),
      ...STACKS.map(sandboxImageName),
    ]);
    for (const image of first) {
      const info = await docker.getImage(image.name).inspect();
      expect(info.Id).toBe(image.id);
      expect(info.Config.Labels?.['vaporform.inputs-hash']).toBe(image.inputsHash);
    }
    const base = await docker.getImage(baseImageName(tag)).inspect();
    expect(base.Config.User).toBe('1000:1000');
    expect(base.Config.WorkingDir).toBe('/workspace');
    expect(base.Config.Entrypoint).toEqual(['/usr/bin/tini', '--']);
    // The main process is the exec agent (sandbox-images/agent), a static binary built in the first stage.
    expect(base.Config.Cmd).toEqual(['/usr/local/bin/vaporform-agent']);
  });

  it.each(STACKS)('%s: runs as uid 1000 under tini, with git and curl, on a read-only root', async (stack: Stack) => {
    const lines = await ok(
      sandboxImageName(stack),
      [
        'id -u',
        'id -un',
        'cat /proc/1/comm',
        'pwd',
        'echo "$HOME"',
        'git --version',
        'curl --version | head -n 1',
        'stat -c %u:%g /workspace /home/sandbox | sort -u',
        'touch /etc/x 2>/dev/null && echo root-writable || echo root-read-only',
        'echo hi > /tmp/x && cat /tmp/x',
      ].join('; '),
    );
    expect(lines[0]).toBe('1000');
    expect(lines[1]).toBe('sandbox');
    expect(lines[2]).toBe('tini');
    expect(lines[3]).toBe('/workspace');
    expect(lines[4]).toBe('/home/sandbox');
    expect(lines[5]).toMatch(/^git version 2\./);
    expect(lines[6]).toMatch(/^curl \d/);
    // Owned by uid 1000, so writable once mounted as volumes; here the root filesystem is read-only.
    expect(lines[7]).toBe('1000:1000');
    expect(lines[8]).toBe('root-read-only');
    expect(lines[9]).toBe('hi');
  });

  it('node: Node 20 and npm', async () => {
    const lines = await ok(sandboxImageName('node'), 'node -v; npm -v; npx --version; node -e "console.log(process.getuid())"', [
      'npm_config_cache=/tmp/npm-cache',
    ]);
    expect(lines[0]).toMatch(/^v20\.\d+\.\d+$/);
    expect(lines[1]).toMatch(/^10\.\d+\.\d+$/);
    expect(lines[2]).toBe(lines[1]);
    expect(lines[3]).toBe('1000');
  });

  it('python: Python 3.11, venv and pip', async () => {
    const lines = await ok(sandboxImageName('python'), 'python3 --version; python3 -m venv /tmp/v && /tmp/v/bin/pip --version');
    expect(lines[0]).toMatch(/^Python 3\.11\.\d+$/);
    expect(lines[1]).toMatch(/^pip \d+.* from \/tmp\/v\/lib\/python3\.11\/site-packages\/pip /);
  });

  it('go: go version, and a hello program builds and runs', async () => {
    const script = [
      'go version',
      'mkdir -p /tmp/hello && cd /tmp/hello',
      `printf 'package main\\n\\nimport "fmt"\\n\\nfunc main() { fmt.Println("hello from go") }\\n' > main.go`,
      'go mod init example.com/hello 2>/dev/null',
      'go build -o /tmp/hello/hello . && /tmp/hello/hello',
    ].join(' && ');
    const lines = await ok(sandboxImageName('go'), script, ['GOCACHE=/tmp/go-cache', 'GOPATH=/tmp/go']);
    expect(lines[0]).toMatch(/^go version go1\.\d+/);
    expect(lines.at(-1)).toBe('hello from go');
  });

  it('builds nothing the second time', async () => {
    const started = Date.now();
    const second = await ensureSandboxImages(docker, STACKS);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(second.map((image) => [image.name, image.status])).toEqual(first.map((image) => [image.name, 'skipped']));
    expect(second.map((image) => image.id)).toEqual(first.map((image) => image.id));
  });
});
