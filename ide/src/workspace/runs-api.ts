/** Agent runs (`/projects/:id/runs`): the contract the IDE's chat is built on. */
import type { RunInfo, RunStatus, RunUsage, ToolDisplay } from '../../../lib/api-types';
import { request } from '../api';

export type { RunStatus, RunUsage, ToolDisplay };

/** A run as the API gives it (its cost is `costUsd`). */
export type Run = RunInfo;

/** A run's events, in `seq` order. */
export type RunEvent = { seq: number; at: string } & (
  | { type: 'run.status'; data: { status: RunStatus; reason?: string | null } }
  | { type: 'message.user'; data: { text: string } }
  | { type: 'step.started'; data: { step: number } }
  | { type: 'text.delta'; data: { step: number; text: string } }
  | { type: 'step.retry'; data: { step: number } }
  | { type: 'message.assistant'; data: { step: number; text: string } }
  | { type: 'tool.call'; data: { step: number; callId: string; name: string; input: unknown } }
  | { type: 'tool.approval_requested'; data: { step: number; callId: string; name: string; input: unknown; reason: string } }
  | { type: 'tool.approval_resolved'; data: { callId: string; approved: boolean } }
  | {
      type: 'tool.result';
      data: { step: number; callId: string; name: string; isError: boolean; content: string; display?: ToolDisplay };
    }
  | { type: 'step.completed'; data: { step: number; usage: RunUsage; costUsd: number; changedPaths: string[] } }
  | { type: 'run.nudge'; data: { reason: string } }
  | { type: 'run.reverted'; data: { step: number; paths: string[] } }
);

export interface StepDiff {
  step: number;
  files: Array<{ path: string; before: string | null; after: string | null }>;
}

export const ACTIVE_STATUSES: ReadonlySet<RunStatus> = new Set(['queued', 'running', 'waiting_approval']);

const base = (projectId: string) => `/projects/${encodeURIComponent(projectId)}/runs`;
const one = (projectId: string, runId: string) => `${base(projectId)}/${encodeURIComponent(runId)}`;

export const runsApi = {
  list: (projectId: string) => request<{ runs: Run[] }>('GET', base(projectId)),
  get: (projectId: string, runId: string) => request<Run>('GET', one(projectId, runId)),
  start: (projectId: string, message: string) => request<Run>('POST', base(projectId), { body: { message } }),
  events: (projectId: string, runId: string, after: number) =>
    request<{ events: RunEvent[] }>('GET', `${one(projectId, runId)}/events?after=${after}`),
  send: (projectId: string, runId: string, message: string) =>
    request<Run>('POST', `${one(projectId, runId)}/messages`, { body: { message } }),
  approve: (projectId: string, runId: string) => request<Run>('POST', `${one(projectId, runId)}/approve`, { body: {} }),
  deny: (projectId: string, runId: string, reason?: string) =>
    request<Run>('POST', `${one(projectId, runId)}/deny`, { body: reason ? { reason } : {} }),
  cancel: (projectId: string, runId: string) => request<Run>('POST', `${one(projectId, runId)}/cancel`, { body: {} }),
  revert: (projectId: string, runId: string, step: number) =>
    request<{ step: number; sha?: string }>('POST', `${one(projectId, runId)}/revert`, { body: { step } }),
  diff: (projectId: string, runId: string, step: number) =>
    request<StepDiff>('GET', `${one(projectId, runId)}/steps/${step}/diff`),
};
