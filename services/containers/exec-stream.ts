/**
 * The streaming form of exec, over the realtime WebSocket:
 *   -> { type: 'exec.start', id, projectId, command, cwd?, env?, timeoutMs? }
 *   <- { type: 'exec.started', id } then { type: 'exec.output', id, stream: 'stdout' | 'stderr', data }...
 *   -> { type: 'exec.stdin', id, data } / { type: 'exec.stdin', id, end: true } / { type: 'exec.kill', id }
 *   <- { type: 'exec.exit', id, exitCode, timedOut, killed, durationMs }
 * A run ends with its connection: closing the socket kills what it started.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AppError } from '../../lib/errors.js';
import type { ClientMessage, Connection, RealtimeService } from '../realtime/index.js';
import type { ExecHandle } from './exec.js';
import type { ContainersService } from './service.js';

const MAX_RUNS_PER_CONNECTION = 10;
const MAX_COMMAND_LENGTH = 65536;
const MAX_ARGS = 1000;
const MAX_CWD_LENGTH = 4096;

function outputTo(connection: Connection, id: string, stream: 'stdout' | 'stderr'): Writable {
  // Decoded per stream, so a character split across two chunks arrives whole.
  const decoder = new StringDecoder('utf8');
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const data = decoder.write(chunk);
      if (data) connection.send({ type: 'exec.output', id, stream, data });
      done();
    },
    final(done) {
      const rest = decoder.end();
      if (rest) connection.send({ type: 'exec.output', id, stream, data: rest });
      done();
    },
  });
}

function stringField(message: ClientMessage, name: string): string {
  const value = message[name];
  if (typeof value !== 'string' || value === '') throw new AppError('VALIDATION_FAILED', `${message.type} needs "${name}"`);
  return value;
}

export function registerExecStreaming(
  realtime: RealtimeService,
  containers: ContainersService,
  onError: (err: unknown) => void,
): void {
  const runsOf = new WeakMap<Connection, Map<string, ExecHandle>>();

  const runs = (connection: Connection): Map<string, ExecHandle> => {
    let map = runsOf.get(connection);
    if (!map) {
      const created = new Map<string, ExecHandle>();
      runsOf.set(connection, created);
      connection.onClose(() => {
        for (const handle of created.values()) void handle.kill().catch(() => {});
      });
      map = created;
    }
    return map;
  };

  const runOf = (connection: Connection, message: ClientMessage): ExecHandle => {
    const handle = runs(connection).get(stringField(message, 'id'));
    if (!handle) throw new AppError('NOT_FOUND', 'No running exec with this id on this connection');
    return handle;
  };

  realtime.handle('exec.start', async (connection, message) => {
    const id = stringField(message, 'id');
    const projectId = stringField(message, 'projectId');
    const active = runs(connection);
    if (active.has(id)) throw new AppError('CONFLICT', `An exec with id "${id}" is already running`);
    if (active.size >= MAX_RUNS_PER_CONNECTION) {
      throw new AppError('RATE_LIMITED', `At most ${MAX_RUNS_PER_CONNECTION} runs at once per connection`);
    }
    const command = message.command;
    const valid =
      (typeof command === 'string' && command !== '' && command.length <= MAX_COMMAND_LENGTH) ||
      (Array.isArray(command) && command.length > 0 && command.length <= MAX_ARGS &&
        command.every((arg) => typeof arg === 'string' && arg.length <= MAX_COMMAND_LENGTH));
    if (!valid) throw new AppError('VALIDATION_FAILED', 'exec.start needs a command: a string or an array of strings');
    const { cwd, timeoutMs } = message;
    if (cwd !== undefined && (typeof cwd !== 'string' || cwd.length > MAX_CWD_LENGTH)) {
      throw new AppError('VALIDATION_FAILED', `cwd is a path of at most ${MAX_CWD_LENGTH} characters`);
    }
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 100)) {
      throw new AppError('VALIDATION_FAILED', 'timeoutMs is a whole number of milliseconds, at least 100');
    }
    const handle = await containers.startExec(
      connection.principal,
      projectId,
      {
        command: command as string | string[],
        cwd: cwd as string | undefined,
        // Checked by the service (an object of short strings), whatever was sent.
        env: message.env as Record<string, string> | undefined,
        // A run that names no timeout may last as long as the deployment allows (EXEC_MAX_TIMEOUT_SECONDS).
        timeoutMs: (timeoutMs as number | undefined) ?? containers.maxExecTimeoutMs,
      },
      { onStdout: outputTo(connection, id, 'stdout'), onStderr: outputTo(connection, id, 'stderr'), execId: randomUUID() },
    );
    active.set(id, handle);
    connection.send({ type: 'exec.started', id });
    void handle.done.then(
      (exit) => connection.send({ type: 'exec.exit', id, ...exit }),
      (err: unknown) => {
        if (!(err instanceof AppError)) onError(err);
        const error = err instanceof AppError ? err : new AppError('INTERNAL', 'The run failed on our side');
        connection.send({ type: 'error', code: error.code, message: error.message, replyTo: id });
      },
    ).finally(() => active.delete(id));
  });

  realtime.handle('exec.stdin', (connection, message) => {
    const handle = runOf(connection, message);
    if (typeof message.data === 'string') handle.writeStdin(message.data);
    if (message.end === true) handle.endStdin();
  });

  realtime.handle('exec.kill', async (connection, message) => {
    await runOf(connection, message).kill();
  });
}
