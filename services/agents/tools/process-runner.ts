/**
 * How `run_command` starts and follows commands: the managed-process API of the containers service (a command
 * that outlives the call, with its output kept and its ports found), seen through one small interface so the
 * tools do not depend on how processes are run. `execProcessRunner` serves it with plain exec while the
 * sandbox has no managed processes: foreground only, a command past its timeout is stopped.
 */
import type { Principal } from '../../../lib/access.js';
import type { ProcessInfo, ProcessOutput, StartProcessRequest } from '../../../lib/api-types.js';
import { AppError } from '../../../lib/errors.js';
import type { ContainersService } from '../../containers/index.js';

export interface ProcessRunner {
  /** False: a command cannot outlive its call (it is stopped at its timeout); background commands are refused. */
  readonly managed: boolean;
  /** `context` says who used the project's secrets (the audit log): `run:<id>`. */
  start(principal: Principal, projectId: string, request: StartProcessRequest & { timeoutMs: number }, context?: string): Promise<ProcessInfo>;
  /** The process once it exited, or as it is when `timeoutMs` passed. */
  wait(principal: Principal, projectId: string, id: string, options: { timeoutMs: number }): Promise<ProcessInfo>;
  get(principal: Principal, projectId: string, id: string): Promise<ProcessInfo>;
  output(principal: Principal, projectId: string, id: string, options: { after?: number; limit?: number }): Promise<ProcessOutput>;
  stop(principal: Principal, projectId: string, id: string): Promise<ProcessInfo>;
}

/** The containers service's managed processes (a command in the background, its output kept, ports found). */
export interface ManagedProcesses {
  startProcess(principal: Principal, projectId: string, request: StartProcessRequest, options?: { context?: string }): Promise<ProcessInfo>;
  getProcess(principal: Principal, projectId: string, id: string): Promise<ProcessInfo>;
  processOutput(principal: Principal, projectId: string, id: string, options: { after?: number; limit?: number }): Promise<ProcessOutput>;
  waitProcess(principal: Principal, projectId: string, id: string, options: { timeoutMs: number }): Promise<ProcessInfo>;
  stopProcess(principal: Principal, projectId: string, id: string): Promise<ProcessInfo>;
}

export function hasManagedProcesses(containers: object): containers is ManagedProcesses {
  const candidate = containers as Partial<ManagedProcesses>;
  return (
    typeof candidate.startProcess === 'function' &&
    typeof candidate.waitProcess === 'function' &&
    typeof candidate.processOutput === 'function' &&
    typeof candidate.stopProcess === 'function' &&
    typeof candidate.getProcess === 'function'
  );
}

/** Over the managed-process API: a command keeps running past the call's wait and the model gets its id. */
export function managedProcessRunner(processes: ManagedProcesses): ProcessRunner {
  return {
    managed: true,
    start: (principal, projectId, { command, cwd, env }, context) =>
      processes.startProcess(
        principal,
        projectId,
        { command, ...(cwd === undefined ? {} : { cwd }), ...(env === undefined ? {} : { env }) },
        context === undefined ? {} : { context },
      ),
    wait: (principal, projectId, id, options) => processes.waitProcess(principal, projectId, id, options),
    get: (principal, projectId, id) => processes.getProcess(principal, projectId, id),
    output: (principal, projectId, id, options) => processes.processOutput(principal, projectId, id, options),
    stop: (principal, projectId, id) => processes.stopProcess(principal, projectId, id),
  };
}

interface FinishedCommand {
  info: ProcessInfo;
  output: string;
}

/** How many finished commands an exec runner remembers (their output, for process_output). */
const REMEMBERED = 64;

/**
 * Plain exec: `start` runs the command to its end (or its timeout, which kills it), and the result is kept
 * in this process's memory for `process_output`. A stand-in until the sandbox runs managed processes.
 */
export function execProcessRunner(containers: Pick<ContainersService, 'exec'>): ProcessRunner {
  const finished = new Map<string, FinishedCommand>();
  let next = 0;
  const find = (projectId: string, id: string): FinishedCommand => {
    const entry = finished.get(`${projectId}:${id}`);
    if (!entry) throw new AppError('NOT_FOUND', `No process ${id} (this sandbox keeps no process past its command)`);
    return entry;
  };
  return {
    managed: false,
    async start(principal, projectId, request) {
      const startedAt = new Date().toISOString();
      const result = await containers.exec(principal, projectId, {
        command: request.command,
        cwd: request.cwd,
        env: request.env,
        timeoutMs: request.timeoutMs,
      });
      const id = `exec-${Date.now().toString(36)}-${(next++).toString(36)}`;
      const parts = [result.stdout, result.stderr].filter(Boolean);
      if (result.stdoutTruncated || result.stderrTruncated) parts.push('[output cut at the sandbox\'s exec output limit]');
      if (result.timedOut) parts.push(`[stopped: the command was still running after ${Math.round(request.timeoutMs / 1000)} s]`);
      const output = parts.map((part) => (part.endsWith('\n') ? part : `${part}\n`)).join('');
      const info: ProcessInfo = {
        id,
        command: request.command,
        cwd: request.cwd ?? '.',
        status: 'exited',
        exitCode: result.exitCode,
        startedAt,
        exitedAt: new Date().toISOString(),
        ports: [],
      };
      finished.set(`${projectId}:${id}`, { info, output });
      while (finished.size > REMEMBERED) finished.delete(finished.keys().next().value!);
      return info;
    },
    async wait(_principal, projectId, id) {
      return find(projectId, id).info;
    },
    async get(_principal, projectId, id) {
      return find(projectId, id).info;
    },
    async output(_principal, projectId, id, options) {
      const { output } = find(projectId, id);
      const bytes = Buffer.from(output, 'utf8');
      const from = Math.min(options.after ?? 0, bytes.length);
      const end = options.limit === undefined ? bytes.length : Math.min(bytes.length, from + options.limit);
      return { output: bytes.subarray(from, end).toString('utf8'), from, next: end, truncatedBefore: false };
    },
    async stop(_principal, projectId, id) {
      return find(projectId, id).info;
    },
  };
}
