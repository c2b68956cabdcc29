/**
 * The agents service's `RunOrchestrator` over Temporal: the `agentRun` workflow started with the run's id as its
 * workflow id, and the person's requests as signals (ids only; the texts are in PostgreSQL).
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { RunOrchestrator } from '../services/agents/index.js';
import type { TemporalClient } from './client.js';
import type { AgentRunInput } from './definitions/agent-run-api.js';
import { approveSignal, cancelSignal, denySignal, messageSignal } from './definitions/agent-run-api.js';

export function temporalRunOrchestrator(temporal: TemporalClient): RunOrchestrator {
  const { client, config } = temporal;
  const handle = (runId: string) => client.workflow.getHandle(runId);
  return {
    async start(runId) {
      try {
        await client.workflow.start('agentRun', {
          workflowId: runId,
          taskQueue: config.taskQueue,
          args: [{ runId } satisfies AgentRunInput],
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    },
    async message(runId, messageId, resume) {
      // A run whose workflow ended (idle for its whole timeout) starts again where it was, with the message.
      const input: AgentRunInput = {
        runId,
        state: { step: resume.steps, version: 0, nudged: false, inbox: [], status: resume.status, waitingForMessage: true },
      };
      await client.workflow.signalWithStart('agentRun', {
        workflowId: runId,
        taskQueue: config.taskQueue,
        args: [input],
        signal: messageSignal,
        signalArgs: [messageId],
      });
    },
    async approve(runId, callId) {
      await handle(runId).signal(approveSignal, callId);
    },
    async deny(runId, callId, reason) {
      await handle(runId).signal(denySignal, callId, reason);
    },
    async cancel(runId) {
      try {
        await handle(runId).signal(cancelSignal);
        return true;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },
  };
}
