/**
 * The orphan reaper: Docker resources of this deployment's sandboxes (containers, networks, volumes and the disk
 * behind them) whose project no longer exists. They appear when a request that was already past its access check
 * recreates a sandbox while its project is being deleted, or when a deletion's clean-up failed half-way. Run at
 * start-up and periodically; safe to run from several instances at once (removal is idempotent).
 */
import type Docker from 'dockerode';
import type { DeploymentIdentity } from './deployment.js';
import type { SandboxManager } from './sandboxes.js';
import { LABEL_PROJECT } from './sandbox-spec.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ReaperDeps {
  docker: Docker;
  manager: SandboxManager;
  deployment: DeploymentIdentity;
  /** Of `projectIds`, those that still exist (the projects service answers). */
  existingProjects: (projectIds: string[]) => Promise<string[]>;
  onError: (err: unknown) => void;
}

/** Removes what is left of deleted projects' sandboxes (a snapshot of a workspace is kept, as on deletion). */
export async function reapOrphans(deps: ReaperDeps): Promise<string[]> {
  const filters = { label: Object.entries(await deps.deployment.labels()).map(([key, value]) => `${key}=${value}`) };
  const [containers, networks, volumes] = await Promise.all([
    deps.docker.listContainers({ all: true, filters }),
    deps.docker.listNetworks({ filters }),
    deps.docker.listVolumes({ filters }),
  ]);
  const labelled = [...containers, ...networks, ...(volumes.Volumes ?? [])].map((resource) => resource.Labels?.[LABEL_PROJECT]);
  const projectIds = [...new Set(labelled.filter((id): id is string => typeof id === 'string' && UUID.test(id)))];
  if (projectIds.length === 0) return [];
  const existing = new Set(await deps.existingProjects(projectIds));
  const reaped: string[] = [];
  for (const projectId of projectIds.filter((id) => !existing.has(id))) {
    try {
      await deps.manager.destroy(projectId);
      reaped.push(projectId);
    } catch (err) {
      deps.onError(err);
    }
  }
  return reaped;
}
