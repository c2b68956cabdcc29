/** The workflows the worker registers: this file is the entry of the workflow bundle. */
export { ping } from './ping.js';
export { agentRun } from './agent-run.js';
