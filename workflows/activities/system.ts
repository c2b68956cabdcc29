/** Activities that touch nothing but the worker itself: used to prove the wiring end to end. */
import { hostname } from 'node:os';

export function createSystemActivities() {
  return {
    /** Answers with who ran it, so a test can see the activity ran in a worker. */
    async echo(message: string): Promise<string> {
      return `${message} (from ${hostname()}:${process.pid})`;
    },
  };
}
