/** Agent runs: the API's service, its routes and live events, and the engine the workflow's activities drive. */
export { RunsService, type RunOrchestrator, type StartRun } from './service.js';
export { RunEventsHub } from './hub.js';
export { runsRoutes, registerRunStreaming } from './routes.js';
export { RunEngine, RunFailure, DEFAULT_RUN_LIMITS, type ActivityHooks, type EngineDeps, type ProviderCredentials, type RunSecrets, type RunLimits, type TurnOutcome } from './engine.js';
export type { PendingApproval, Run, RunEvent, RunStatus } from './types.js';
