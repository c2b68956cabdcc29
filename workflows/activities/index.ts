/** Every activity the worker registers, grouped by the service they touch. Workflows import the type only. */
import type { RunEngine } from '../../services/agents/index.js';
import { createAgentActivities } from './agent.js';
import { createSystemActivities } from './system.js';

export interface ActivityDeps {
  /** The agent runs' engine; unset in a worker that runs no agents (a wiring test). */
  engine?: RunEngine;
}

export function createActivities(deps: ActivityDeps = {}) {
  return {
    ...createSystemActivities(),
    ...createAgentActivities(deps.engine),
  };
}

export type Activities = ReturnType<typeof createActivities>;
