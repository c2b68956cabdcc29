/**
 * The wire types the API and the IDE share (the IDE imports this file; keep it free of imports from Node or any
 * service). One place, so the two cannot drift. Services may re-export these; they must not redefine them.
 */

// ---------------------------------------------------------------------------------------------------------------
// Events: every event of a project carries `seq`, strictly increasing per project (the durable event log).

export interface ProjectEvent<T = unknown> {
  id: string;
  /** Strictly increasing per project; a client resumes with `after: seq`. Absent when the log could not be written. */
  seq?: number;
  projectId: string;
  /** Dotted, past tense: `file.changed`, `run.updated`, `process.started`. */
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

// The preview (`GET /projects/:projectId/preview/status`): what it serves now.

/** A process listening in the sandbox, as the preview names it. */
export interface PreviewProcess {
  /** The managed process's id, when it is one (started by the agent or the processes API). */
  processId?: string;
  pid?: number;
  command: string;
}

export interface PreviewServing {
  /** The port the preview serves now: the project's preview port, or a managed process's that listens when nothing is there. */
  port: number;
  /** Whether anything listens there; null when the sandbox could not say. */
  listening: boolean | null;
  /** What listens there, when it could be found. */
  process: PreviewProcess | null;
}

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

/** Tokens of a run or a step (`costUsd` beside it in the run). */
export interface RunUsage {
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
}

/** A run as `GET /runs/:runId` gives it (services/agents/runs/types.ts is the source). */
export interface RunInfo {
  id: string;
  projectId: string;
  status: RunStatus;
  goal: string;
  provider: string;
  model: string;
  promptVersion: string;
  steps: number;
  maxSteps: number;
  usage: RunUsage;
  costUsd: number;
  /** Why the run waits or stopped (needs_input, failed, waiting_approval), in words for a person. */
  reason: string | null;
  /** The tool call waiting for a person, when status is waiting_approval. */
  pendingApproval: { callId: string; name: string; input: unknown; reason: string; step: number } | null;
  webhookUrl: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
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
 * A run's events (`GET /runs/:runId/events?after=SEQ`, or `run.event` after `run.subscribe` on the socket), each
 * `{seq, type, at, data}` with `seq` strictly increasing within the run:
 * - `message.user`            {text, messageId?}
 * - `run.status`              {status, reason?}
 * - `step.started`            {step}
 * - `text.delta`              {step, text}                  (streamed tokens of the step's model turn)
 * - `step.retry`              {step}                        (the step's streamed text so far is void)
 * - `message.assistant`       {step, text}
 * - `tool.call`               {step, callId, name, input}
 * - `tool.approval_requested` {step, callId, name, input, reason}
 * - `tool.approval_resolved`  {callId, approved, reason?}
 * - `tool.result`             {step, callId, name, isError, content, display?: ToolDisplay}
 * - `step.completed`          {step, usage: RunUsage, costUsd, changedPaths}
 * - `run.nudge`               {step, reason}
 * - `run.reverted`            {step, requestedStep, sha}
 * Project subscribers also get `run.updated {run: RunInfo}` when a run's status changes.
 */
export type RunEventType =
  | 'message.user'
  | 'run.status'
  | 'step.started'
  | 'text.delta'
  | 'step.retry'
  | 'message.assistant'
  | 'tool.call'
  | 'tool.approval_requested'
  | 'tool.approval_resolved'
  | 'tool.result'
  | 'step.completed'
  | 'run.nudge'
  | 'run.reverted';

// ---------------------------------------------------------------------------------------------------------------
// The realtime socket's project subscription (services/realtime): `{type:'subscribe', projectId, after?, history?}`.
// With `after: seq` it replays every event after `seq` from the log, then goes live, nothing missed or doubled;
// with `history: n` (at most 200) it first sends the latest n events, each message marked `history: true`. The
// first answer is `{type:'subscribed', projectId, seq}`: the client has seen everything up to `seq` (with
// `gap: true` when events between `after` and `seq` are lost: too far behind); then `{type:'event', event}`.
// Events of two API instances may arrive out of order by seq: deduplicate by seq and resume after the highest
// seq below which nothing is missing.

// ---------------------------------------------------------------------------------------------------------------
// Files: `file.changed` {FileChange}.

export interface FileChange {
  path: string;
  kind: 'created' | 'modified' | 'deleted' | 'renamed';
  /** Where a renamed file or directory was. */
  from?: string;
  /** The new version of a file written through the API. */
  version?: string;
  /** A small UTF-8 file written through the API: its text (live events only; the log leaves it out). */
  content?: string;
}
