/**
 * Terminals over the realtime WebSocket: login shells on pseudo-terminals served by the sandbox's own agent.
 *   -> { type: 'terminal.open', id?, projectId, cols, rows, cwd?, terminalId? }   (terminalId: reattach)
 *   <- { type: 'terminal.opened', id?, projectId, terminalId, created, replay }   then terminal.output...
 *   -> { type: 'terminal.input', terminalId, data } / { type: 'terminal.resize', terminalId, cols, rows }
 *   <- { type: 'terminal.output', terminalId, data }
 *   <- { type: 'terminal.exit', terminalId, exitCode }
 *   -> { type: 'terminal.close', id?, terminalId, projectId? }  <- { type: 'terminal.closed', id?, terminalId } (and its exit)
 *   -> { type: 'terminal.detach', id?, terminalId }             <- { type: 'terminal.detached', id?, terminalId, reason }
 *   -> { type: 'terminal.list', id?, projectId }                <- { type: 'terminal.listed', id?, projectId, terminals }
 *
 * The shells live in the sandbox's agent, not in this process: closing the socket only detaches, and a reattach
 * (from this API instance or any other: the agent's address and token derive from the project and the server
 * secret) gets the terminal's last 64 KiB of output as `replay`, then the live output, nothing lost or doubled.
 * Access (execute on the project) is checked on every open and reattach, and again on input every 30 s. Output is coalesced by a token bucket:
 * a burst of BURST_FRAMES goes at once (typing's echo never waits), beyond it one frame per COALESCE_MS; while the client's
 * socket has more than PAUSE_ABOVE_BYTES queued, the agent's connection is paused, so a flood is paced by the
 * slowest reader (the agent holds at most its queue, the shell then blocks) and no buffer here grows unbounded.
 */
import { StringDecoder } from 'node:string_decoder';
import { AppError } from '../../lib/errors.js';
import type { ClientMessage, Connection, RealtimeService } from '../realtime/index.js';
import type { ContainersService } from './service.js';
import {
  attachTerminal,
  closeTerminal,
  createTerminal,
  listTerminals,
  TERMINAL_ID,
  type AgentEndpointRef,
  type AgentFrame,
  type TerminalLink,
} from './terminal-agent.js';

/** Live terminals per project (the agent enforces it, so two API instances cannot both exceed it). */
export const MAX_TERMINALS_PER_PROJECT = 8;
const MAX_ATTACHED_PER_CONNECTION = 32;
const MAX_COLS = 1000;
const MAX_ROWS = 500;
const MAX_INPUT_CHARS = 64 * 1024;
const MAX_CWD_LENGTH = 4096;
const MAX_ID_LENGTH = 128;
const COALESCE_MS = 4;
/** Frames sent at once before coalescing starts: typing never waits, a flood soon does. */
const BURST_FRAMES = 16;
const MAX_FRAME_CHARS = 64 * 1024;
const PAUSE_ABOVE_BYTES = 256 * 1024;
const RESUME_BELOW_BYTES = 64 * 1024;
const PACE_POLL_MS = 10;
const ACCESS_RECHECK_MS = 30_000;
const REPLAY_TIMEOUT_MS = 10_000;
/** Input queued towards the agent beyond this is refused: the shell is not reading it. */
const MAX_PENDING_INPUT_BYTES = 1024 * 1024;

function fail(message: string): never {
  throw new AppError('VALIDATION_FAILED', message);
}

function requestId(message: ClientMessage): { id?: string } {
  const id = message.id;
  if (id === undefined) return {};
  if (typeof id !== 'string' || id.length > MAX_ID_LENGTH) fail(`id is a string of at most ${MAX_ID_LENGTH} characters`);
  return { id };
}

function projectIdOf(message: ClientMessage): string {
  const value = message.projectId;
  if (typeof value !== 'string' || value === '') fail(`${message.type} needs "projectId"`);
  return value;
}

function terminalIdOf(message: ClientMessage): string {
  const value = message.terminalId;
  if (typeof value !== 'string' || !TERMINAL_ID.test(value)) fail(`${message.type} needs a "terminalId" (32 hex digits)`);
  return value;
}

function sizeOf(message: ClientMessage): { cols: number; rows: number } {
  const { cols, rows } = message;
  if (!Number.isInteger(cols) || (cols as number) < 1 || (cols as number) > MAX_COLS) fail(`cols is a whole number from 1 to ${MAX_COLS}`);
  if (!Number.isInteger(rows) || (rows as number) < 1 || (rows as number) > MAX_ROWS) fail(`rows is a whole number from 1 to ${MAX_ROWS}`);
  return { cols: cols as number, rows: rows as number };
}

/** One terminal attached on one client connection: the agent's frames in, coalesced output frames out. */
class AttachedTerminal {
  link: TerminalLink | null = null;
  exited = false;
  /** When access was last confirmed (Date.now()). */
  checkedAt = Date.now();
  private detachedByUs = false;
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  private pacer: NodeJS.Timeout | undefined;
  private tokens = BURST_FRAMES;
  private refilledAt = performance.now();
  /** Settles with the replay (the first frame): the open succeeded, or the agent failed it. */
  readonly opened: Promise<void>;
  private settleOpened!: (error?: AppError) => void;
  private replayed = false;

  constructor(
    private readonly connection: Connection,
    readonly terminalId: string,
    readonly projectId: string,
    readonly endpoint: AgentEndpointRef,
    private readonly onOpened: (replay: string) => void,
    private readonly onGone: () => void,
  ) {
    this.opened = new Promise((resolve, reject) => {
      this.settleOpened = (error) => (error ? reject(error) : resolve());
    });
    this.opened.catch(() => {}); // awaited by the open; a late failure is no one's to handle
  }

  onFrame(frame: AgentFrame): void {
    if (!this.replayed && frame.kind !== 'replay') {
      this.link?.close(new AppError('UPSTREAM_UNAVAILABLE', "The sandbox's agent did not begin with the terminal's replay"));
      return;
    }
    if (frame.kind === 'replay') {
      if (this.replayed) return this.link?.close(new AppError('UPSTREAM_UNAVAILABLE', "The sandbox's agent replayed twice"));
      this.replayed = true;
      // The scrollback may begin inside a character: a lone continuation byte decodes to U+FFFD, dropped here.
      this.onOpened(this.decoder.write(frame.data).replace(/^\uFFFD+/, ''));
      this.settleOpened();
    } else if (frame.kind === 'output') {
      this.pending += this.decoder.write(frame.data);
      this.schedule();
    } else {
      this.pending += this.decoder.end();
      this.flush();
      this.exited = true;
      this.connection.send({ type: 'terminal.exit', terminalId: this.terminalId, exitCode: frame.exitCode });
    }
  }

  onEnd(error?: AppError): void {
    this.flush();
    this.stopPacing();
    this.onGone();
    if (!this.replayed) {
      // The open's own error answers the client.
      this.settleOpened(
        error ??
          (this.detachedByUs
            ? new AppError('CONFLICT', 'Another open of this terminal on this connection took over')
            : new AppError('UPSTREAM_UNAVAILABLE', "The sandbox's agent closed the terminal before its replay")),
      );
      return;
    }
    if (this.exited || this.detachedByUs) return;
    // The agent went away (sandbox stopped, broken or hostile frames): the client may try to reattach.
    this.connection.send({
      type: 'terminal.detached',
      terminalId: this.terminalId,
      reason: error ? error.code : 'agent-closed',
      ...(error ? { message: error.message } : {}),
    });
  }

  detach(): void {
    this.detachedByUs = true;
    this.link?.close();
  }

  /** Frames may go at once while the bucket holds a token; it refills by one every COALESCE_MS. */
  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(BURST_FRAMES, this.tokens + (now - this.refilledAt) / COALESCE_MS);
    this.refilledAt = now;
  }

  private schedule(): void {
    if (this.pending.length >= MAX_FRAME_CHARS) return this.flush();
    if (this.timer) return;
    this.refill();
    if (this.tokens >= 1) this.flush();
    else this.timer = setTimeout(() => this.flush(), (1 - this.tokens) * COALESCE_MS);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '') return;
    this.connection.send({ type: 'terminal.output', terminalId: this.terminalId, data: this.pending });
    this.pending = '';
    this.refill();
    this.tokens = Math.max(0, this.tokens - 1);
    if (this.pacer === undefined && this.connection.bufferedAmount > PAUSE_ABOVE_BYTES && this.link) {
      const socket = this.link.socket;
      socket.pause();
      this.pacer = setInterval(() => {
        if (this.connection.bufferedAmount >= RESUME_BELOW_BYTES) return;
        this.stopPacing();
        socket.resume();
      }, PACE_POLL_MS);
    }
  }

  private stopPacing(): void {
    clearInterval(this.pacer);
    this.pacer = undefined;
  }
}

export function registerTerminals(realtime: RealtimeService, containers: ContainersService, onError: (err: unknown) => void): void {
  const attachedOf = new WeakMap<Connection, Map<string, AttachedTerminal>>();

  const attached = (connection: Connection): Map<string, AttachedTerminal> => {
    let map = attachedOf.get(connection);
    if (!map) {
      const created = new Map<string, AttachedTerminal>();
      attachedOf.set(connection, created);
      // Closing the socket detaches; the shells keep running for the next attach.
      connection.onClose(() => {
        for (const terminal of [...created.values()]) terminal.detach();
      });
      map = created;
    }
    return map;
  };

  const attachedTerminal = (connection: Connection, message: ClientMessage): AttachedTerminal => {
    const terminal = attached(connection).get(terminalIdOf(message));
    if (!terminal) throw new AppError('TERMINAL_NOT_FOUND', 'This terminal is not open on this connection: open it first');
    return terminal;
  };

  realtime.handle('terminal.open', async (connection, message) => {
    const reply = requestId(message);
    const projectId = projectIdOf(message);
    const { cols, rows } = sizeOf(message);
    const reattach = message.terminalId === undefined ? undefined : terminalIdOf(message);
    const cwd = message.cwd;
    if (cwd !== undefined && (typeof cwd !== 'string' || cwd.length > MAX_CWD_LENGTH)) fail(`cwd is a path of at most ${MAX_CWD_LENGTH} characters`);
    const mine = attached(connection);
    if (mine.size >= MAX_ATTACHED_PER_CONNECTION && !(reattach && mine.has(reattach))) {
      throw new AppError('RATE_LIMITED', `At most ${MAX_ATTACHED_PER_CONNECTION} terminals attached per connection`);
    }
    const { endpoint, cwd: resolved } = await containers.terminalAgent(connection.principal, projectId, cwd as string | undefined);
    // A new shell gets the project's secrets as its environment (the caller holds "execute"); its output is the
    // person's own TTY and is not redacted (a full-screen program's cursor moves would not survive it).
    const terminalId =
      reattach ??
      (await createTerminal(endpoint, { cols, rows, cwd: resolved, env: await containers.terminalEnv(connection.principal, projectId), max: MAX_TERMINALS_PER_PROJECT })).id;
    mine.get(terminalId)?.detach();

    const terminal: AttachedTerminal = new AttachedTerminal(
      connection,
      terminalId,
      projectId,
      endpoint,
      (replay) => {
        connection.send({ type: 'terminal.opened', ...reply, projectId, terminalId, created: reattach === undefined, replay });
        // A reattaching client may have another size than the last one.
        if (reattach) terminal.link?.resize(cols, rows);
      },
      () => {
        if (mine.get(terminalId) === terminal) mine.delete(terminalId);
      },
    );
    mine.set(terminalId, terminal);
    try {
      terminal.link = await attachTerminal(endpoint, terminalId, {
        onFrame: (frame) => terminal.onFrame(frame),
        onEnd: (error) => terminal.onEnd(error),
      });
    } catch (err) {
      if (mine.get(terminalId) === terminal) mine.delete(terminalId);
      // A shell nobody can reach would hold a place and keep the sandbox awake: hang it up.
      if (!reattach) await closeTerminal(endpoint, terminalId).catch(() => {});
      throw err;
    }
    if (mine.get(terminalId) !== terminal) {
      // A newer open of the same terminal on this connection took over meanwhile.
      terminal.detach();
      throw new AppError('CONFLICT', 'Another open of this terminal on this connection took over');
    }
    terminal.link.start();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new AppError('TIMEOUT', "The sandbox's agent did not send the terminal's replay in time")), REPLAY_TIMEOUT_MS);
    });
    try {
      await Promise.race([terminal.opened, late]);
    } catch (err) {
      terminal.detach();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  });

  /**
   * Access is checked on every open; while attached, input re-checks it at most every ACCESS_RECHECK_MS (in the
   * background), so someone removed from the project, or the project deleted, loses the shell soon after.
   */
  const recheck = (connection: Connection, terminal: AttachedTerminal) => {
    const now = Date.now();
    if (now - terminal.checkedAt < ACCESS_RECHECK_MS) return;
    terminal.checkedAt = now;
    containers.checkExecute(connection.principal, terminal.projectId).catch((err: unknown) => {
      if (!(err instanceof AppError)) onError(err);
      terminal.detach();
      const error = err instanceof AppError ? err : new AppError('FORBIDDEN', 'Access to the project could not be confirmed');
      connection.send({ type: 'terminal.detached', terminalId: terminal.terminalId, reason: error.code, message: error.message });
    });
  };

  realtime.handle('terminal.input', (connection, message) => {
    const terminal = attachedTerminal(connection, message);
    recheck(connection, terminal);
    const data = message.data;
    if (typeof data !== 'string' || data.length > MAX_INPUT_CHARS) fail(`data is a string of at most ${MAX_INPUT_CHARS} characters`);
    if (terminal.exited || !terminal.link || data === '') return;
    if (terminal.link.socket.writableLength > MAX_PENDING_INPUT_BYTES) {
      throw new AppError('RATE_LIMITED', 'The terminal is not reading its input; wait before sending more');
    }
    terminal.link.input(Buffer.from(data, 'utf8'));
  });

  realtime.handle('terminal.resize', (connection, message) => {
    const terminal = attachedTerminal(connection, message);
    const { cols, rows } = sizeOf(message);
    if (!terminal.exited) terminal.link?.resize(cols, rows);
  });

  realtime.handle('terminal.detach', (connection, message) => {
    const reply = requestId(message);
    const terminal = attachedTerminal(connection, message);
    terminal.detach();
    connection.send({ type: 'terminal.detached', ...reply, terminalId: terminal.terminalId, reason: 'requested' });
  });

  realtime.handle('terminal.close', async (connection, message) => {
    const reply = requestId(message);
    const terminalId = terminalIdOf(message);
    const mine = attached(connection).get(terminalId);
    // Closing a terminal this connection has not attached needs the project, and its access checked.
    const endpoint = mine ? mine.endpoint : (await containers.terminalAgent(connection.principal, projectIdOf(message))).endpoint;
    if (!(await closeTerminal(endpoint, terminalId))) {
      throw new AppError('TERMINAL_NOT_FOUND', 'This terminal does not exist (any more)', { terminalId });
    }
    connection.send({ type: 'terminal.closed', ...reply, terminalId });
  });

  realtime.handle('terminal.list', async (connection, message) => {
    const reply = requestId(message);
    const projectId = projectIdOf(message);
    const { endpoint } = await containers.terminalAgent(connection.principal, projectId);
    const terminals = (await listTerminals(endpoint)).map(({ id, cols, rows, startedAt, exited, exitCode, attached: clients }) => ({
      terminalId: id,
      cols,
      rows,
      startedAt: new Date(startedAt).toISOString(),
      exited,
      exitCode: exited ? exitCode : null,
      attached: clients,
    }));
    connection.send({ type: 'terminal.listed', ...reply, projectId, terminals });
  });
}
