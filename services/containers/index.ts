/** The containers service: the Docker engine and each project's hardened sandbox. */
export { createDockerClient, pingDocker, type Docker } from './docker.js';
export { SandboxManager, type Stack, type SandboxStatus, type SandboxStats, type ProjectServiceSettings } from './sandboxes.js';
export { ContainersService, sandboxEvents, type AuthorizeProject, type AuthorizedProject } from './service.js';
export { ProjectPostgres } from './project-postgres.js';
export { ProjectRedis } from './project-redis.js';
export type { ExecRequest, ExecResult } from './exec.js';
export { diskPaths, SandboxDisks } from './sandbox-disk.js';
export { containersRoutes } from './routes.js';
export { processRoutes } from './process-routes.js';
export { registerExecStreaming } from './exec-stream.js';
export { registerTerminals, MAX_TERMINALS_PER_PROJECT } from './terminal-stream.js';
export { installHostGuard } from './network-guard.js';
export { postgresCreateOptions, redisCreateOptions, sandboxCreateOptions, sandboxNames, sandboxSubnet, SANDBOX_UID, WORKSPACE, HOME } from './sandbox-spec.js';
export { PreviewService } from './preview.js';
export { createPreviewProxy, type PreviewProxy } from './preview-proxy.js';
export { previewRoutes } from './preview-routes.js';
export { DeploymentIdentity } from './deployment.js';
export { reapOrphans } from './reaper.js';
