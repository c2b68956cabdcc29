/**
 * The wire types the API and the IDE share (the IDE imports this file; keep it free of imports from Node or any
 * service). One place, so the two cannot drift. Services may re-export these; they must not redefine them.
 */

// ---------------------------------------------------------------------------------------------------------------
// Events: every event of a project carries `seq`, strictly increasing per project (the durable event log).

export interface ProjectEvent<T = unknown> {
  /** Strictly increasing per project; a client resumes with `after: seq`. */
  seq: number;
  projectId: string;
  /** Dotted, past tense: `file.changed`, `run.text`, `process.started`. */
  type: string;
  at: string;
  actor?: { kind: 'user' | 'apiKey' | 'agent' | 'system' | 'sandbox'; id?: string };
  data: T;
}

// ---------------------------------------------------------------------------------------------------------------
// Managed processes (a command that keeps running: a dev server, a watcher, `run_command` in the background).

export type ProcessStatus = 'running' | 'exited';

export interface ProcessInfo {
  id: string;
  /** The shell command as given (run with `sh -c`, as exec runs a string: a login shell would reset PATH). */
  command: string;
  cwd: string;
  status: ProcessStatus;
  exitCode: number | null;
  startedAt: string;
  exitedAt: string | null;
  /** TCP ports the process (or its children) listens on, found in the sandbox. */
  ports: number[];
}

export interface StartProcessRequest {
  command: string;
  cwd?: string;
  env?: Record<string, string>;
}

export interface ProcessOutput {
  /** Output (stdout and stderr interleaved) from byte offset `from` on, UTF-8. */
  output: string;
  from: number;
  /** Offset to ask for next. */
  next: number;
  /** Output older than the kept window was dropped. */
  truncatedBefore: boolean;
}

// Events: `process.started` {process}, `process.exited` {process}, `process.ports` {process}.

// ---------------------------------------------------------------------------------------------------------------
// Terminals over the realtime WebSocket (a PTY served by the in-sandbox agent). Requires the `execute` permission.

export type TerminalClientMessage =
  /** Opens a new shell, or re-attaches to `terminalId` (the reply's `replay` holds its recent output). */
  | { type: 'terminal.open'; id?: string; projectId: string; terminalId?: string; cols: number; rows: number }
  | { type: 'terminal.input'; terminalId: string; data: string }
  | { type: 'terminal.resize'; terminalId: string; cols: number; rows: number }
  /** Ends the shell. Closing the socket only detaches: the shell lives on for a while and can be re-attached. */
  | { type: 'terminal.close'; terminalId: string };

export type TerminalServerMessage =
  | { type: 'terminal.opened'; id?: string; projectId: string; terminalId: string; replay: string }
  | { type: 'terminal.output'; terminalId: string; data: string }
  | { type: 'terminal.exited'; terminalId: string; exitCode: number | null };

export interface TerminalInfo {
  terminalId: string;
  createdAt: string;
  attached: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Agent runs (`/api/v1/projects/:projectId/runs`).

export type RunStatus = 'queued' | 'running' | 'waiting_approval' | 'needs_input' | 'completed' | 'failed' | 'cancelled';

export interface RunUsage {
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  costUsd: number;
}

export interface RunInfo {
  id: string;
  projectId: string;
  status: RunStatus;
  /** Why the run waits or stopped (needs_input, failed, waiting_approval), in words for a person. */
  reason: string | null;
  provider: string;
  model: string;
  promptVersion: string;
  steps: number;
  maxSteps: number;
  usage: RunUsage;
  createdAt: string;
  updatedAt: string;
  createdBy: { kind: 'user' | 'apiKey'; id: string };
  /** The tool call waiting for a person, when status is waiting_approval. */
  pendingApproval: { callId: string; name: string; input: unknown; reason: string } | null;
}

export interface CreateRunRequest {
  message: string;
  provider?: 'anthropic' | 'openai';
  model?: string;
  maxSteps?: number;
  webhookUrl?: string;
}

/** What the IDE shows on a tool call's card (the agents' ToolDisplay). */
export type ToolDisplay =
  | { kind: 'diff'; path: string; before: string | null; after: string | null }
  | { kind: 'command'; command: string; exitCode: number | null; output: string; processId?: string; ports?: number[] }
  | { kind: 'ir'; summary: string; diagnostics?: number }
  | { kind: 'files'; paths: string[] }
  | { kind: 'text'; text: string };

/**
 * Run events (each also a ProjectEvent; `data.runId` names the run):
 * - `run.created`      {runId, run: RunInfo, message}
 * - `run.status`       {runId, status, reason}
 * - `run.message`      {runId, step, role: 'user'|'assistant', text}   (a whole message: the user's, or the model's text of a turn)
 * - `run.text`         {runId, step, delta}                            (streamed tokens of the current turn)
 * - `run.tool_call`    {runId, step, callId, name, input}
 * - `run.approval`     {runId, step, callId, name, input, reason}      (waits for approve/deny)
 * - `run.tool_result`  {runId, step, callId, name, isError, content, display?: ToolDisplay, changedPaths: string[]}
 * - `run.step`         {runId, step, usage: RunUsage, totals: RunUsage, checkpoint: string | null}
 * - `run.finished`     {runId, status, reason}
 */
export type RunEventType =
  | 'run.created'
  | 'run.status'
  | 'run.message'
  | 'run.text'
  | 'run.tool_call'
  | 'run.approval'
  | 'run.tool_result'
  | 'run.step'
  | 'run.finished';

// ---------------------------------------------------------------------------------------------------------------
// The realtime socket's project subscription: `{type:'subscribe', projectId, after?: seq}` replays every event
// after `seq` from the log, then goes live, with nothing missed or doubled; the server answers `subscribed`
// with `{projectId, seq}` (the last seq known at subscription) and sends `{type:'event', event: ProjectEvent}`.
