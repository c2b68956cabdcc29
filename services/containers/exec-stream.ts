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
// The longest a run may last unless the client asks for less (EXEC_MAX_TIMEOUT_SECONDS by default).
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

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

export function registerExecStreaming(realtime: RealtimeService, containers: ContainersService): void {
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
      (typeof command === 'string' && command !== '') ||
      (Array.isArray(command) && command.length > 0 && command.every((arg) => typeof arg === 'string'));
    if (!valid) throw new AppError('VALIDATION_FAILED', 'exec.start needs a command: a string or an array of strings');
    const timeoutMs = typeof message.timeoutMs === 'number' ? message.timeoutMs : DEFAULT_TIMEOUT_MS;
    const handle = await containers.startExec(
      connection.principal,
      projectId,
      {
        command: command as string | string[],
        cwd: typeof message.cwd === 'string' ? message.cwd : undefined,
        env: typeof message.env === 'object' && message.env !== null ? (message.env as Record<string, string>) : undefined,
        timeoutMs,
      },
      { onStdout: outputTo(connection, id, 'stdout'), onStderr: outputTo(connection, id, 'stderr'), execId: randomUUID() },
    );
    active.set(id, handle);
    connection.send({ type: 'exec.started', id });
    void handle.done.then(
      (exit) => connection.send({ type: 'exec.exit', id, ...exit }),
      (err: unknown) => connection.send({ type: 'error', code: 'INTERNAL', message: String(err), replyTo: id }),
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
