import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { echo } = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds' });

/** A trivial workflow proving the wiring: one activity, its answer returned. */
export async function ping(message: string): Promise<string> {
  const answer = await echo(message);
  return `pong: ${answer}`;
}
