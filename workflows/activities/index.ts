/** Every activity the worker registers, grouped by the service they touch. Workflows import the type only. */
import { createSystemActivities } from './system.js';

export function createActivities() {
  return {
    ...createSystemActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;
