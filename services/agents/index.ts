/** The agents service's public surface. */
export { ApprovalPolicies } from './approval-policies.js';
export { policyRoutes } from './policy-routes.js';
export { loadPrompt, promptVersions, type Prompt } from './prompts.js';
export { detectStuck, nudgeFor, stepsFromTranscript, type Stuck, type StuckKind, type StuckStep } from './stuck.js';
export { contextWindow, estimateTokens, fitTranscript, messageBudget, type Fitted, type FitOptions } from './context.js';
export { Checkpoints, type CheckpointRef, type StepDiff, type StepFileChange } from './checkpoints.js';
export {
  createToolbox,
  approvalNeed,
  destructiveCommand,
  normalizePolicy,
  DEFAULT_APPROVAL_POLICY,
  TOOL_NAMES,
  type ApprovalPolicy,
  type Toolbox,
  type ToolDeps,
  type ToolName,
} from './tools/index.js';
export type { ApprovalNeed, ToolCall, ToolContext, ToolDisplay, ToolJournal, ToolResult } from './tools/types.js';
export {
  RunsService,
  RunEventsHub,
  runsRoutes,
  registerRunStreaming,
  RunEngine,
  RunFailure,
  DEFAULT_RUN_LIMITS,
  type ActivityHooks,
  type EngineDeps,
  type ProviderCredentials,
  type RunSecrets,
  type PendingApproval,
  type Run,
  type RunEvent,
  type RunLimits,
  type RunOrchestrator,
  type RunStatus,
  type StartRun,
  type TurnOutcome,
} from './runs/index.js';
export { createProvider, PROVIDER_NAMES, type LlmProvider, type ProviderName } from './providers/index.js';
export { checkUserBaseUrl } from './providers/base-url-guard.js';
