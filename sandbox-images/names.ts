/** The image each stack's sandboxes run; `build.ts` builds them under these names. No Docker client here. */

export type Stack = 'node' | 'python' | 'go';
export const STACKS: readonly Stack[] = ['node', 'python', 'go'];

/** The label that holds the hash of an image's inputs (build.ts skips an image whose label matches). */
export const HASH_LABEL = 'vaporform.inputs-hash';
/** Debian bookworm from Debian's packages (debootstrap), imported: what the base image starts from. */
export const ROOTFS_IMAGE = 'vaporform/rootfs:bookworm';
/**
 * The tag of the images a build makes: `latest` for the one deployment of a machine; another tag keeps a second
 * checkout (another branch under test, say) from swapping the images under the first one's sandboxes.
 */
export const DEFAULT_IMAGE_TAG = 'latest';

/** User sandbox (uid 1000), tini as PID 1, git, curl, CA certificates. */
export function baseImageName(tag = DEFAULT_IMAGE_TAG): string {
  return `vaporform/sandbox-base:${tag}`;
}

/** The image a stack's sandboxes run, e.g. `vaporform/sandbox-node:latest`. */
export function sandboxImageName(stack: Stack, tag = DEFAULT_IMAGE_TAG): string {
  return `vaporform/sandbox-${stack}:${tag}`;
}

/** A project's own PostgreSQL (postgres/Dockerfile), built from the rootfs like the sandboxes. */
export function postgresImageName(tag = DEFAULT_IMAGE_TAG): string {
  return `vaporform/service-postgres:${tag}`;
}

/** A project's own Redis (redis/Dockerfile), built from the rootfs like the sandboxes. */
export function redisImageName(tag = DEFAULT_IMAGE_TAG): string {
  return `vaporform/service-redis:${tag}`;
}
