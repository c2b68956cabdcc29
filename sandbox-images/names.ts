/** The image each stack's sandboxes run; `build.ts` builds them under these names. */
export type SandboxStack = 'node' | 'python' | 'go';

export function sandboxImageName(stack: SandboxStack): string {
  return `vaporform/sandbox-${stack}:latest`;
}
