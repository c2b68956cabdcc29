/** The `agentRun` workflow's input, signals and query: what the API's client and the workflow share. */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export type AgentRunStatus = 'queued' | 'running' | 'waiting_approval' | 'needs_input' | 'completed' | 'failed' | 'cancelled';

/** What a continued-as-new execution takes over from the one before. */
export interface AgentRunState {
  step: number;
  /** Counts status changes (their events' dedupe keys). */
  version: number;
  nudged: boolean;
  inbox: string[];
  status: AgentRunStatus;
  waitingForMessage: boolean;
}

export interface AgentRunInput {
  runId: string;
  state?: AgentRunState;
}

export interface ApprovalDecision {
  approved: boolean;
  reason: string | null;
}

export interface AgentRunView {
  status: AgentRunStatus;
  step: number;
  reason: string | null;
  awaiting: string | null;
  inbox: number;
}

/** A follow-up message, by its id in the run's inbox (the text stays in PostgreSQL). */
export const messageSignal = defineSignal<[messageId: string]>('message');
/** Approves the waiting call (the one named, or whichever waits). */
export const approveSignal = defineSignal<[callId?: string]>('approve');
export const denySignal = defineSignal<[callId?: string, reason?: string]>('deny');
export const cancelSignal = defineSignal('cancel');
export const stateQuery = defineQuery<AgentRunView>('state');
