/**
 * Running a command in a sandbox and collecting its result. The command runs under coreutils' `timeout`,
 * which puts it in its own process group and signals the whole group when time is up, so children die too.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { AppError } from '../../lib/errors.js';
import { WORKSPACE } from './sandbox-spec.js';

export interface ExecRequest {
  /** An argv array, run as is; or a string, run by `sh -c`. */
  command: string[] | string;
  /** Relative to /workspace, or absolute inside it. */
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  timeoutMs: number;
  stdin?: string | undefined;
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

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Exit codes of `timeout`: 124 when the command was stopped by TERM, 137 when it needed KILL. */
const TIMEOUT_EXIT_CODES = new Set([124, 137]);
const KILL_GRACE_SECONDS = 2;

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

export function validateEnv(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new AppError('VALIDATION_FAILED', `"${name}" is not a valid variable name`);
    if (value.includes('\0')) throw new AppError('VALIDATION_FAILED', `The value of ${name} contains a NUL byte`);
    return `${name}=${value}`;
  });
}

/** Keeps the first `limit` bytes of a stream and counts the rest, never blocking the writer. */
class CappedBuffer extends Writable {
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

export async function runExec(
  docker: Docker,
  container: Docker.Container,
  request: ExecRequest,
  options: { outputLimitBytes: number },
): Promise<ExecResult> {
  const argv = typeof request.command === 'string' ? ['sh', '-c', request.command] : request.command;
  if (argv.length === 0 || argv[0] === '') throw new AppError('VALIDATION_FAILED', 'The command is empty');
  if (argv.some((arg) => arg.includes('\0'))) throw new AppError('VALIDATION_FAILED', 'The command contains a NUL byte');
  const seconds = Math.max(1, Math.ceil(request.timeoutMs / 1000));
  const started = performance.now();
  const exec = await container.exec({
    Cmd: ['timeout', '-k', String(KILL_GRACE_SECONDS), String(seconds), ...argv],
    WorkingDir: workspaceCwd(request.cwd),
    Env: validateEnv(request.env),
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: request.stdin !== undefined,
    Tty: false,
  });
  const stream = await exec.start({ hijack: true, stdin: request.stdin !== undefined });
  const stdout = new CappedBuffer(options.outputLimitBytes);
  const stderr = new CappedBuffer(options.outputLimitBytes);
  docker.modem.demuxStream(stream, stdout, stderr);
  if (request.stdin !== undefined) {
    (stream as NodeJS.WritableStream).write(request.stdin);
    // Half-close: the command sees end of input while its output still flows back.
    (stream as unknown as { end(): void }).end();
  }
  await new Promise<void>((resolve, reject) => {
    // A last resort should the engine never close the stream: well past the in-sandbox timeout.
    const guard = setTimeout(() => {
      (stream as unknown as { destroy(): void }).destroy();
      resolve();
    }, (seconds + KILL_GRACE_SECONDS + 5) * 1000);
    stream.on('end', () => {
      clearTimeout(guard);
      resolve();
    });
    stream.on('close', () => {
      clearTimeout(guard);
      resolve();
    });
    stream.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
  });
  const inspected = await exec.inspect();
  const exitCode = inspected.ExitCode ?? -1;
  const timedOut = TIMEOUT_EXIT_CODES.has(exitCode) && performance.now() - started >= seconds * 1000 - 50;
  return {
    exitCode,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    timedOut,
    durationMs: Math.round(performance.now() - started),
  };
}
