/** The image each stack's sandboxes run; `build.ts` builds them under these names. No Docker client here. */

export type Stack = 'node' | 'python' | 'go';
export const STACKS: readonly Stack[] = ['node', 'python', 'go'];

/** The label that holds the hash of an image's inputs (build.ts skips an image whose label matches). */
export const HASH_LABEL = 'vaporform.inputs-hash';
/** Debian bookworm from Debian's packages (debootstrap), imported: what the base image starts from. */
export const ROOTFS_IMAGE = 'vaporform/rootfs:bookworm';
/** User sandbox (uid 1000), tini as PID 1, git, curl, CA certificates. */
export const BASE_IMAGE = 'vaporform/sandbox-base:latest';

/** The image a stack's sandboxes run, e.g. `vaporform/sandbox-node:latest`. */
export function sandboxImageName(stack: Stack): string {
  return `vaporform/sandbox-${stack}:latest`;
}
