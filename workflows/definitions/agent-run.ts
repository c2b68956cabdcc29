/**
 * `agentRun` (workflow id = run id): the agent's loop. A model turn, then each of its tool calls (waiting for a
 * person where the project's policy says so), then the step's end (checkpoint, stuck detection), until the model
 * ends its turn, a limit is hit, it is stuck, or it is cancelled; then it waits, for days if need be, for the next
 * message. Deterministic: every effect is an activity, and history carries ids only (the transcript is in
 * PostgreSQL). Continues as new before its history grows large.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AgentRunInput, AgentRunState, ApprovalDecision } from './agent-run-api.js';

import { approveSignal, cancelSignal, denySignal, messageSignal, stateQuery } from './agent-run-api.js';

/** A message may wait this long; then the workflow ends (a later message starts it again). */
const IDLE_TIMEOUT = '30 days';
/** Continue as new after this many steps in one execution, long before history limits. */
const STEPS_PER_EXECUTION = 100;

const model = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 6, nonRetryableErrorTypes: ['RunFailure'] },
});
const tools = proxyActivities<Activities>({
  startToCloseTimeout: '70 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['RunFailure'] },
});
/**
 * The step's end and the quick bookkeeping (status, messages, resolved calls) as local activities: run by the
 * worker inside the workflow task that needs them, so each costs no round trip through the server (about a
 * quarter of a step's overhead in bench/agent, and the same before the first token). They are idempotent like
 * the others; a worker that dies mid-way runs them again.
 */
const steps = proxyLocalActivities<Activities>({
  startToCloseTimeout: '3 minutes',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 5 },
});
const quick = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds' },
});

export async function agentRun(input: AgentRunInput): Promise<void> {
  const { runId } = input;
  const carried = input.state;
  let step = carried?.step ?? 0;
  let version = carried?.version ?? 0;
  let nudged = carried?.nudged ?? false;
  let waitingForMessage = carried?.waitingForMessage ?? false;
  const inbox: string[] = [...(carried?.inbox ?? [])];
  let cancelled = false;
  let status = carried?.status ?? 'queued';
  let reason: string | null = null;
  let awaiting: string | null = null;
  let decision: ApprovalDecision | null = null;
  let scope: CancellationScope | undefined;
  const startStep = step;

  setHandler(messageSignal, (messageId) => void inbox.push(messageId));
  setHandler(approveSignal, (callId) => {
    if (awaiting !== null && (callId === undefined || callId === awaiting)) decision = { approved: true, reason: null };
  });
  setHandler(denySignal, (callId, why) => {
    if (awaiting !== null && (callId === undefined || callId === awaiting)) decision = { approved: false, reason: why ?? null };
  });
  setHandler(cancelSignal, () => {
    cancelled = true;
    scope?.cancel();
  });
  setHandler(stateQuery, () => ({ status, step, reason, awaiting, inbox: inbox.length }));

  const setStatus = async (next: typeof status, extra: { reason?: string; pending?: { callId: string; name: string; input: unknown; reason: string } } = {}) => {
    status = next;
    reason = extra.reason ?? null;
    version += 1;
    await quick.setRunStatus({
      runId,
      status: next,
      reason,
      pendingApproval: extra.pending ? { ...extra.pending, step } : null,
      key: String(version),
    });
  };

  /** Runs an activity that a cancel interrupts at once; undefined when it was cancelled. */
  const interruptible = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
    if (cancelled) return undefined;
    const current = new CancellationScope();
    scope = current;
    try {
      return await current.run(work);
    } catch (err) {
      if (cancelled && (isCancellation(err) || err instanceof ActivityFailure)) return undefined;
      throw err;
    } finally {
      scope = undefined;
    }
  };

  /** Waits for a message (or cancel); false when none came in time. */
  const waitForMessage = async (): Promise<boolean> => {
    waitingForMessage = true;
    const arrived = await condition(() => inbox.length > 0 || cancelled, IDLE_TIMEOUT);
    waitingForMessage = false;
    return arrived;
  };

  if (!carried) await setStatus('running');
  else if (waitingForMessage && !(await waitForMessage())) return;

  while (!cancelled) {
    if (inbox.length > 0) {
      while (inbox.length > 0) await quick.acceptRunMessage({ runId, messageId: inbox.shift()!, step });
      nudged = false;
      if (status !== 'running') await setStatus('running');
    }
    if (step - startStep >= STEPS_PER_EXECUTION || workflowInfo().continueAsNewSuggested) {
      const state: AgentRunState = { step, version, nudged, inbox, status, waitingForMessage: false };
      await continueAsNew<typeof agentRun>({ runId, state });
    }

    step += 1;
    let turn;
    try {
      turn = await interruptible(() => model.agentTurn({ runId, step }));
    } catch (err) {
      await setStatus('failed', { reason: failureReason(err) });
      if (!(await waitForMessage())) return;
      continue;
    }
    if (turn === undefined) break;
    if (turn.limit) {
      step -= 1;
      await setStatus('needs_input', { reason: turn.limit });
      if (!(await waitForMessage())) return;
      continue;
    }

    for (const call of turn.calls) {
      if (cancelled) break;
      if (call.approval !== null) {
        awaiting = call.id;
        decision = null;
        await setStatus('waiting_approval', { reason: call.approval, pending: { callId: call.id, name: call.name, input: null, reason: call.approval } });
        await condition(() => decision !== null || cancelled);
        awaiting = null;
        if (cancelled) break;
        const { approved, reason: why } = decision as unknown as ApprovalDecision;
        await quick.runApprovalResolved({ runId, callId: call.id, approved, reason: why });
        await setStatus('running');
        if (!approved) {
          await quick.resolveRunCall({
            runId,
            step,
            callId: call.id,
            content: `A person denied this call${why ? `: ${why}` : ''}. Do not try it again as is; ask or take another way.`,
          });
          continue;
        }
      }
      try {
        const result = await interruptible(() => tools.agentTool({ runId, step, callId: call.id }));
        if (result === undefined) break;
      } catch (err) {
        await quick.resolveRunCall({ runId, step, callId: call.id, content: `The tool failed on our side: ${failureReason(err)}` });
      }
    }
    if (cancelled) break;

    const end = await steps.finishRunStep({ runId, step });
    if (end.stuck !== null) {
      if (!nudged && end.nudge !== null) {
        nudged = true;
        await quick.nudgeRun({ runId, step, text: end.nudge, reason: end.stuck });
      } else {
        await setStatus('needs_input', { reason: `The agent seems stuck: ${end.stuck}` });
        if (!(await waitForMessage())) return;
        continue;
      }
    }
    if (turn.ended) {
      await setStatus('completed');
      if (!(await waitForMessage())) return;
    }
  }
  await CancellationScope.nonCancellable(() => setStatus('cancelled'));
}

function failureReason(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure || cause instanceof Error) return cause.message.slice(0, 1000);
  return 'unknown failure';
}
