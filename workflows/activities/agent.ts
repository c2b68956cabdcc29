/**
 * The agent's activities: thin wrappers giving the run engine (services/agents) Temporal's heartbeats,
 * cancellation and attempt number. A `RunFailure` becomes a non-retryable failure the workflow reports.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { RunFailure, type ActivityHooks, type PendingApproval, type RunEngine, type RunStatus } from '../../services/agents/index.js';

function hooks(): ActivityHooks {
  const context = Context.current();
  return { heartbeat: () => context.heartbeat(), signal: context.cancellationSignal, attempt: context.info.attempt };
}

async function reported<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof RunFailure) throw ApplicationFailure.nonRetryable(err.message, 'RunFailure');
    throw err;
  }
}

export function createAgentActivities(engine: RunEngine | undefined) {
  const use = (): RunEngine => {
    if (!engine) throw ApplicationFailure.nonRetryable('This worker runs no agents (it was started without the services)', 'RunFailure');
    return engine;
  };
  return {
    agentTurn: (input: { runId: string; step: number }) => reported(() => use().turn(input.runId, input.step, hooks())),
    agentTool: (input: { runId: string; step: number; callId: string }) =>
      reported(() => use().tool(input.runId, input.step, input.callId, hooks())),
    resolveRunCall: (input: { runId: string; step: number; callId: string; content: string }) =>
      reported(() => use().resolveCall(input.runId, input.step, input.callId, input.content)),
    finishRunStep: (input: { runId: string; step: number }) => reported(() => use().finishStep(input.runId, input.step)),
    nudgeRun: (input: { runId: string; step: number; text: string; reason: string }) =>
      use().nudge(input.runId, input.step, input.text, input.reason),
    acceptRunMessage: (input: { runId: string; messageId: string; step: number }) =>
      use().acceptMessage(input.runId, input.messageId, input.step),
    setRunStatus: (input: { runId: string; status: RunStatus; reason: string | null; pendingApproval: PendingApproval | null; key: string }) =>
      use().setStatus(input.runId, input),
    runApprovalResolved: (input: { runId: string; callId: string; approved: boolean; reason: string | null }) =>
      use().approvalResolved(input.runId, input.callId, input.approved, input.reason),
  };
}
