/**
 * The contract between the agent loop and its tools. A tool acts on the project only through the services'
 * public interfaces, as the run's principal; it never throws for a problem the model can fix: it returns
 * `isError: true` with a message the model can act on.
 */
import type { Principal } from '../../../lib/access.js';

export interface ToolCall {
  /** The model's id of the call (`toolu_...`, `call_...`); unique within a run. */
  id: string;
  name: string;
  input: unknown;
}

/** What the IDE shows on the call's card. Small: no file contents beyond a diff, output capped. */
export type ToolDisplay =
  | { kind: 'diff'; path: string; before: string | null; after: string | null }
  | { kind: 'command'; command: string; exitCode: number | null; output: string; processId?: string; ports?: number[] }
  | { kind: 'ir'; summary: string; diagnostics?: number }
  | { kind: 'files'; paths: string[] }
  | { kind: 'text'; text: string };

export interface ToolResult {
  /** What the model sees: capped, with a note when truncated. */
  content: string;
  isError: boolean;
  /** Workspace paths this call changed (checkpoints and the step's diff). */
  changedPaths: string[];
  display?: ToolDisplay;
}

/** A small durable key-value journal per run, so a retried tool call can tell whether its effect already happened. */
export interface ToolJournal {
  get(key: string): Promise<unknown | undefined>;
  put(key: string, value: unknown): Promise<void>;
}

export interface ToolContext {
  projectId: string;
  runId: string;
  /** The step (model turn) this call belongs to. */
  step: number;
  /** Who started the run: tools act with exactly their permissions. */
  principal: Principal;
  journal: ToolJournal;
  signal: AbortSignal;
  /** Tells Temporal the activity is alive (a long command). */
  heartbeat(): void;
}

/** Whether a call may run at once or waits for a person (the project's approval policy decides). */
export type ApprovalNeed = { needed: false } | { needed: true; reason: string };
