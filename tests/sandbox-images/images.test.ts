/**
 * The sandbox images: built from Debian's packages without a registry (first run: a minute or two), then each one
 * runs hardened the way the containers service runs it (uid 1000, read-only root filesystem, no capabilities,
 * no-new-privileges, /tmp a tmpfs, no network) and must hold what its stack promises. A second build is a no-op.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  baseImageName,
  ensureSandboxImages,
  HASH_LABEL,
  postgresImageName,
  redisImageName,
  sandboxImageName as taggedImageName,
  STACKS,
  type SandboxImageResult,
  type Stack,
} from '../../sandbox-images/build.js';
import { createDockerClient, type Docker } from '../../services/containers/index.js';
import { removeThrowaways, runInImage } from '../helpers/containers.js';

const LABEL = 'images';
let docker: Docker;
let first: SandboxImageResult[];
const settings = inject('imageSettings');
const tag = settings.tag;
const sandboxImageName = (stack: Stack) => taggedImageName(stack, tag);
/** A tag of this file's own, for the image it really builds; removed afterwards. */
const scratchTag = `test-build-${randomBytes(4).toString('hex')}`;
const quietLog = (line: string) => {
  if (/^(build|built|skip|npm pack|waiting)/.test(line)) console.log(line);
};

beforeAll(async () => {
  docker = createDockerClient({ socketPath: undefined, host: undefined });
  // The global setup built them; this finds them current (or builds them when run alone after a change).
  first = await ensureSandboxImages(docker, STACKS, { ...settings, log: quietLog });
}, 900_000);

afterAll(async () => {
  if (!docker) return;
  await removeThrowaways(docker, LABEL);
  for (const name of [taggedImageName('python', scratchTag), postgresImageName(scratchTag), redisImageName(scratchTag), baseImageName(scratchTag)]) {
    await docker.getImage(name).remove().catch(() => {});
  }
});

/** Like runInImage, but fails the test with the output when the script fails; returns stdout's lines. */
async function ok(image: string, script: string, env: string[] = []): Promise<string[]> {
  const result = await runInImage(docker, image, script, { env, label: LABEL });
  expect(result.code, `${script}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`).toBe(0);
  return result.stdout.trim().split('\n');
}

describe('sandbox images', () => {
  it('has the rootfs, the base and one image per stack, each labelled with its inputs hash', async () => {
    expect(first.map((image) => image.name)).toEqual([
      'vaporform/rootfs:bookworm',
      baseImageName(tag),
      ...STACKS.map(sandboxImageName),
      postgresImageName(tag),
      redisImageName(tag),
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

  it('postgres: PostgreSQL 15 as the postgres user (uid 999), its entrypoint refusing a first start without a password', async () => {
    const image = postgresImageName(tag);
    const info = await docker.getImage(image).inspect();
    expect(info.Config.User).toBe('999:999');
    expect(info.Config.Entrypoint).toEqual(['/usr/local/bin/vaporform-postgres']);
    expect(info.Config.Env).toEqual(expect.arrayContaining([expect.stringMatching(/^PATH=\/usr\/lib\/postgresql\/15\/bin:/)]));
    // The entrypoint runs (the helper's command is only its arguments): no password handed over, no cluster made.
    const result = await runInImage(docker, image, 'ignored', { label: LABEL });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('first start without a password file');
  });

  it("redis: Debian's redis-server as the redis user (uid 999), its entrypoint refusing to start without a password", async () => {
    const image = redisImageName(tag);
    const info = await docker.getImage(image).inspect();
    expect(info.Config.User).toBe('999:999');
    expect(info.Config.Entrypoint).toEqual(['/usr/local/bin/vaporform-redis']);
    // The entrypoint runs (the helper's command is only its arguments): no password handed over, no server.
    const result = await runInImage(docker, image, 'ignored', { label: LABEL });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refusing to start without a password');
  });

  it('builds an image whose tag does not carry its current inputs, and nothing the second time', async () => {
    // Another tag for the same base recipe: found current under its new name, while the python image under that tag
    // is missing, so it really goes through docker build (quick: the layers are in Docker's cache).
    const base = first.find((image) => image.image === 'base')!;
    const [repo, baseTag] = [baseImageName('').replace(/:$/, ''), scratchTag];
    await docker.getImage(base.id).tag({ repo, tag: baseTag });
    const lines: string[] = [];
    const built = await ensureSandboxImages(docker, ['python'], { ...settings, tag: scratchTag, log: (line) => lines.push(line) });
    expect(built.map((image) => [image.image, image.status])).toEqual([
      ['rootfs', 'skipped'],
      ['base', 'skipped'],
      ['python', 'built'],
      ['postgres', 'built'],
      ['redis', 'built'],
    ]);
    const python = built.find((image) => image.image === 'python')!;
    expect(python.name).toBe(taggedImageName('python', scratchTag));
    // Docker ran the python Dockerfile's steps, and the new tag carries the hash of the inputs it was built from.
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\[python\] Step \d+\/\d+ : RUN .*python3-pip/)]));
    expect((await docker.getImage(python.name).inspect()).Config.Labels?.[HASH_LABEL]).toBe(python.inputsHash);
    expect(python.inputsHash).toBe(first.find((image) => image.image === 'python')!.inputsHash);
    expect((await ok(python.name, 'python3 --version'))[0]).toMatch(/^Python 3\.11\./);

    const again = await ensureSandboxImages(docker, STACKS, { ...settings, log: quietLog });
    expect(again.map((image) => [image.name, image.status])).toEqual(first.map((image) => [image.name, 'skipped']));
    expect(again.map((image) => image.id)).toEqual(first.map((image) => image.id));
  });
});
