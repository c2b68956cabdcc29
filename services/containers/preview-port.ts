/**
 * The preview follows the process that listens: the project's preview port while anything in the sandbox listens
 * there; otherwise the port of the most recently started managed process that listens (a dev server that chose
 * 5173 while the project says 3000); otherwise the preview port still (and the app's "nothing listens" page).
 * Looked up at most every couple of seconds per project, so a preview's many requests cost one look.
 */
import type { ProcessInfo } from '../../lib/api-types.js';
import type { Stack } from './sandboxes.js';

export type SandboxListeners = (projectId: string, stack: Stack) => Promise<{ processes: ProcessInfo[]; listening: number[] }>;

const FRESH_MS = 2000;
const MAX_CACHED = 1024;

export function choosePreviewPort(previewPort: number, processes: ProcessInfo[], listening: number[]): number {
  if (listening.includes(previewPort)) return previewPort;
  // Oldest first: the last one listening is the newest.
  const newest = processes.filter((p) => p.status === 'running' && p.ports.length > 0).at(-1);
  return newest ? newest.ports[0]! : previewPort;
}

export class PreviewPorts {
  private readonly cache = new Map<string, { port: number; previewPort: number; at: number }>();

  constructor(private readonly listeners: SandboxListeners | undefined) {}

  /** The port the preview serves now; the configured one when the sandbox cannot say. */
  async portFor(project: { id: string; stack: Stack; previewPort: number }): Promise<number> {
    if (!this.listeners) return project.previewPort;
    const cached = this.cache.get(project.id);
    if (cached && cached.previewPort === project.previewPort && Date.now() - cached.at < FRESH_MS) return cached.port;
    let port = project.previewPort;
    try {
      const { processes, listening } = await this.listeners(project.id, project.stack);
      port = choosePreviewPort(project.previewPort, processes, listening);
    } catch {
      // A sandbox whose agent cannot say (an old container, a restart): the configured port, as before.
    }
    this.cache.delete(project.id);
    this.cache.set(project.id, { port, previewPort: project.previewPort, at: Date.now() });
    while (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    return port;
  }
}

export type { PreviewProcess, PreviewServing } from '../../lib/api-types.js';

/** Who listens on a port in the sandbox, found by a command run there (the managed processes already say it themselves). */
export type ListenerOf = (projectId: string, stack: Stack, port: number) => Promise<{ pid: number; command: string } | null>;

/**
 * The shell script that names the process listening on TCP port $1: the socket's inode from /proc/net/tcp{,6}
 * (state 0A is LISTEN), then the process holding it. Prints the pid, a newline, and the command line.
 */
export const LISTENER_SCRIPT = `
hex=$(printf '%04X' "$1")
for inode in $(/usr/bin/mawk -v p=":$hex" '$2 ~ (p "$") && $4 == "0A" { print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
  fd=$(/usr/bin/find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\\[$inode\\]" -print -quit 2>/dev/null)
  [ -n "$fd" ] || continue
  pid=\${fd#/proc/}; pid=\${pid%%/*}
  printf '%s\\n' "$pid"
  tr '\\0' ' ' < "/proc/$pid/cmdline" | head -c 400
  exit 0
done
exit 3
`;

/** Reads what LISTENER_SCRIPT printed (hostile input: it came out of the sandbox). */
export function parseListener(stdout: string): { pid: number; command: string } | null {
  const newline = stdout.indexOf('\n');
  if (newline < 0) return null;
  const pid = Number(stdout.slice(0, newline));
  // Printable text only, one line, bounded.
  const command = stdout.slice(newline + 1, newline + 1 + 400).replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (!Number.isSafeInteger(pid) || pid <= 0 || !command) return null;
  return { pid, command };
}
