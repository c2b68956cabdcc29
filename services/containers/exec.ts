/**
 * Running a command in a sandbox. The command runs under coreutils' `timeout`, which makes itself a process
 * group leader and signals the whole group when time is up, so children die with their parent. A streaming
 * run records that group's id in /tmp so that a kill can reach the whole group as well.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { AppError } from '../../lib/errors.js';
import { SANDBOX_UID, WORKSPACE } from './sandbox-spec.js';

export interface ExecRequest {
  /** An argv array, run as is; or a string, run by `sh -c`. */
  command: string[] | string;
  /** Relative to /workspace, or absolute inside it. */
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  timeoutMs: number;
  stdin?: string | undefined;
}

export interface ExecExit {
  exitCode: number;
  timedOut: boolean;
  killed: boolean;
  durationMs: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface ExecHandle {
  writeStdin(data: string): void;
  endStdin(): void;
  /** TERM to the whole process group, KILL two seconds later if it lingers. */
  kill(): Promise<void>;
  readonly done: Promise<ExecExit>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Exit codes of `timeout`: 124 when the command was stopped by TERM, 137 when it needed KILL. */
const TIMEOUT_EXIT_CODES = new Set([124, 137]);
const KILL_GRACE_SECONDS = 2;
const EXEC_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Resolves a working directory lexically inside the workspace; anything else is refused. */
export function workspaceCwd(cwd: string | undefined): string {
  if (cwd === undefined || cwd === '') return WORKSPACE;
  if (cwd.includes('\0')) throw new AppError('INVALID_PATH', 'The working directory contains a NUL byte');
  const resolved = path.posix.resolve(WORKSPACE, cwd);
  if (resolved !== WORKSPACE && !resolved.startsWith(`${WORKSPACE}/`)) {
    throw new AppError('PATH_OUTSIDE_WORKSPACE', `The working directory must be inside ${WORKSPACE}`, { cwd });
  }
  return resolved;
}

/** At most this many variables, each value at most this long (as the HTTP API's schema says). */
const MAX_ENV_VARIABLES = 200;
const MAX_ENV_VALUE_LENGTH = 65536;

/** `NAME=value` lines from a caller's variables; anything but an object of short strings is refused with a code. */
export function validateEnv(env: unknown): string[] {
  if (env === undefined || env === null) return [];
  if (typeof env !== 'object' || Array.isArray(env)) throw new AppError('VALIDATION_FAILED', 'env is an object of strings');
  const entries = Object.entries(env as Record<string, unknown>);
  if (entries.length > MAX_ENV_VARIABLES) throw new AppError('VALIDATION_FAILED', `env may hold at most ${MAX_ENV_VARIABLES} variables`);
  return entries.map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new AppError('VALIDATION_FAILED', `"${name}" is not a valid variable name`);
    if (typeof value !== 'string') throw new AppError('VALIDATION_FAILED', `The value of ${name} is not a string`);
    if (value.length > MAX_ENV_VALUE_LENGTH) throw new AppError('VALIDATION_FAILED', `The value of ${name} is longer than ${MAX_ENV_VALUE_LENGTH}`);
    if (value.includes('\0')) throw new AppError('VALIDATION_FAILED', `The value of ${name} contains a NUL byte`);
    return `${name}=${value}`;
  });
}

export function argvOf(command: ExecRequest['command']): string[] {
  const argv = typeof command === 'string' ? ['sh', '-c', command] : command;
  if (argv.length === 0 || argv[0] === '') throw new AppError('VALIDATION_FAILED', 'The command is empty');
  if (argv.some((arg) => arg.includes('\0'))) throw new AppError('VALIDATION_FAILED', 'The command contains a NUL byte');
  return argv;
}

function pidFile(execId: string): string {
  return `/tmp/.vaporform-exec-${execId}.pid`;
}

/**
 * Every `docker exec` runs as the sandbox user, never as the container's user (root: tini and the exec agent), and
 * with no capabilities (Docker gives a non-root exec none); its environment is the container's, which holds no secret.
 */
export const EXEC_USER = `${SANDBOX_UID}:${SANDBOX_UID}`;

async function runQuietly(container: Docker.Container, cmd: string[]): Promise<void> {
  const exec = await container.exec({ Cmd: cmd, User: EXEC_USER, AttachStdout: false, AttachStderr: false });
  await exec.start({ Detach: true });
}

/**
 * Starts a command; output goes to `onStdout`/`onStderr` as it comes. With `execId`, the run can be killed.
 */
export async function startExec(
  docker: Docker,
  container: Docker.Container,
  request: ExecRequest,
  output: { onStdout: Writable; onStderr: Writable; execId?: string },
): Promise<ExecHandle> {
  const argv = argvOf(request.command);
  const seconds = Math.max(1, Math.ceil(request.timeoutMs / 1000));
  const guarded = ['timeout', '-k', String(KILL_GRACE_SECONDS), String(seconds), ...argv];
  let cmd = guarded;
  if (output.execId !== undefined) {
    if (!EXEC_ID.test(output.execId)) throw new AppError('VALIDATION_FAILED', 'An exec id is 1-64 letters, digits, _ or -');
    // `exec` keeps the shell's pid for `timeout`, which becomes the group leader: the pid is the group id.
    cmd = ['sh', '-c', 'echo $$ > "$1"; shift; exec "$@"', 'vaporform-exec', pidFile(output.execId), ...guarded];
  }
  const started = performance.now();
  const exec = await container.exec({
    Cmd: cmd,
    User: EXEC_USER,
    WorkingDir: workspaceCwd(request.cwd),
    Env: validateEnv(request.env),
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: true,
    Tty: false,
  });
  const stream = await exec.start({ hijack: true, stdin: true });
  docker.modem.demuxStream(stream, output.onStdout, output.onStderr);
  const socket = stream as unknown as NodeJS.ReadWriteStream & { destroy(): void; end(): void };
  let killed = false;
  let stdinOpen = true;

  const finished = new Promise<void>((resolve, reject) => {
    // A last resort should the engine never close the stream: well past the in-sandbox timeout.
    const guard = setTimeout(() => {
      socket.destroy();
      resolve();
    }, (seconds + KILL_GRACE_SECONDS + 5) * 1000);
    const end = () => {
      clearTimeout(guard);
      resolve();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
  });

  const done = finished.then(async (): Promise<ExecExit> => {
    const durationMs = Math.round(performance.now() - started);
    const exitCode = (await exec.inspect()).ExitCode ?? -1;
    if (output.execId !== undefined) {
      runQuietly(container, ['rm', '-f', pidFile(output.execId)]).catch(() => {
        // A leftover pid file of a few bytes in the sandbox's /tmp is harmless.
      });
    }
    const timedOut = !killed && TIMEOUT_EXIT_CODES.has(exitCode) && durationMs >= seconds * 1000 - 50;
    return { exitCode, timedOut, killed, durationMs };
  });

  return {
    writeStdin(data) {
      if (stdinOpen) socket.write(data);
    },
    endStdin() {
      if (!stdinOpen) return;
      stdinOpen = false;
      // Half-close: the command sees end of input while its output still flows back.
      socket.end();
    },
    async kill() {
      if (output.execId === undefined) throw new Error('only a run started with an execId can be killed');
      killed = true;
      const group = `$(cat ${pidFile(output.execId)} 2>/dev/null)`;
      await runQuietly(container, [
        'sh',
        '-c',
        `g=${group}; [ -n "$g" ] && kill -TERM -$g 2>/dev/null; sleep ${KILL_GRACE_SECONDS}; [ -n "$g" ] && kill -KILL -$g 2>/dev/null; true`,
      ]);
    },
    done,
  };
}

/** Keeps the first `limit` bytes of a stream and notes whether there was more, never blocking the writer. */
export class CappedBuffer extends Writable {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    const room = this.limit - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    if (chunk.length > room) this.truncated = true;
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Runs a command to its end and returns its capped output. */
export async function runExec(
  docker: Docker,
  container: Docker.Container,
  request: ExecRequest,
  options: { outputLimitBytes: number },
): Promise<ExecResult> {
  const stdout = new CappedBuffer(options.outputLimitBytes);
  const stderr = new CappedBuffer(options.outputLimitBytes);
  const handle = await startExec(docker, container, request, { onStdout: stdout, onStderr: stderr });
  if (request.stdin !== undefined) handle.writeStdin(request.stdin);
  handle.endStdin();
  const exit = await handle.done;
  return {
    exitCode: exit.exitCode,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    timedOut: exit.timedOut,
    durationMs: exit.durationMs,
  };
}
