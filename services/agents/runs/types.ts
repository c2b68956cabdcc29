/** The shapes of agent runs as the API and the IDE see them. */
import type { RunInfo } from '../../../lib/api-types.js';

export const RUN_STATUSES = ['queued', 'running', 'waiting_approval', 'needs_input', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The call a run waits on a person for. */
export type PendingApproval = NonNullable<RunInfo['pendingApproval']>;

/** A run as the API and the IDE see it: one shape, in lib/api-types.ts. */
export type Run = RunInfo;

/** One entry of a run's event log: `seq` strictly increasing within the run (gaps possible); types in lib/api-types.ts. */
export interface RunEvent<T = unknown> {
  seq: number;
  type: string;
  at: string;
  data: T;
}
