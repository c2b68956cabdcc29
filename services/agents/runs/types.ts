/** The shapes of agent runs as the API and the IDE see them. */
import type { TokenUsage } from '../providers/index.js';

export const RUN_STATUSES = ['queued', 'running', 'waiting_approval', 'needs_input', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run that can take no more work. `completed`, `failed` and `needs_input` wait for a message instead. */
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['cancelled']);

export interface PendingApproval {
  callId: string;
  name: string;
  input: unknown;
  reason: string;
  step: number;
}

export interface Run {
  id: string;
  projectId: string;
  status: RunStatus;
  goal: string;
  provider: string;
  model: string;
  promptVersion: string;
  steps: number;
  maxSteps: number;
  usage: TokenUsage;
  costUsd: number;
  /** Why the run needs input, failed, or waits. */
  reason: string | null;
  pendingApproval: PendingApproval | null;
  webhookUrl: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One entry of a run's event log: `seq` strictly increasing within the run (gaps possible). */
export interface RunEvent<T = unknown> {
  seq: number;
  type: string;
  at: string;
  data: T;
}

export const RUN_EVENT_TYPES = [
  'run.status',
  'message.user',
  'step.started',
  'text.delta',
  'step.retry',
  'message.assistant',
  'tool.call',
  'tool.approval_requested',
  'tool.approval_resolved',
  'tool.result',
  'step.completed',
  'run.nudge',
  'run.reverted',
] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];
