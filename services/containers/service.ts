/** Sandboxes as the API offers them: access checked, the project's stack chosen, changes announced. */
import { promises as fs } from 'node:fs';
import type { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { actorOf, type Permission, type Principal } from '../../lib/access.js';
import type { ProcessInfo, ProcessOutput, StartProcessRequest } from '../../lib/api-types.js';
import type { Config } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';
import { makeEvent, type EventBus } from '../../lib/event-bus.js';
import { Redactor } from '../../lib/redactor.js';
import { relPath, Workspace } from '../../lib/workspace-paths.js';
import { agentExec, AgentUnavailable } from './agent-client.js';
import * as agentProcesses from './process-client.js';
import { ProcessAnnouncer } from './process-events.js';
import { LISTENER_SCRIPT, parseListener } from './preview-port.js';
import { argvOf, runExec, startExec, validateEnv, workspaceCwd, type ExecHandle, type ExecRequest, type ExecResult } from './exec.js';
import { redactingWritable } from './redacting-output.js';
import type { ProjectServiceSettings, SandboxManager, SandboxStats, SandboxStatus, Stack } from './sandboxes.js';
import { WORKSPACE } from './sandbox-spec.js';
import type { AgentEndpointRef } from './terminal-agent.js';

/** The projects service's access check, as this service needs it. */
export type AuthorizeProject = (
  principal: Principal,
  projectId: string,
  permission: Permission,
) => Promise<AuthorizedProject>;

/** What this service needs of a project the caller may act on. */
export interface AuthorizedProject {
  id: string;
  stack: Stack;
  previewPort: number;
  /** Its `services` setting: commands get the variables of the services that are on (DATABASE_URL, REDIS_URL, ...). */
  services: ProjectServiceSettings;
}

export interface ContainersServiceDeps {
  docker: Docker;
  manager: SandboxManager;
  authorize: AuthorizeProject;
  config: Config['sandbox'];
  /** Where `process.*` events go; none: not announced. */
  bus?: EventBus;
  /** The project's secrets (services/secrets); none: commands get no secrets and nothing is redacted. */
  secrets?: ProjectSecrets;
}

/**
 * What the secrets service gives a command: the project's secrets as environment (for a caller this service found
 * to hold "execute"; the use recorded under `context`), and a redactor of their values for output.
 */
export interface ProjectSecrets {
  projectEnv(principal: Principal, projectId: string, context: string): Promise<{ env: Record<string, string>; redactor: Redactor }>;
  redactorFor(projectId: string): Promise<Redactor>;
}

/** An error on its way to the caller, with secret values redacted from its message (the original is not kept as its cause). */
function redactError(err: unknown, redactor: Redactor): unknown {
  if (redactor.empty || !(err instanceof AppError)) return err;
  return new AppError(err.code, redactor.redact(err.message), redactor.redactValue(err.details));
}

/** exec's output with secrets redacted; output cut at the limit loses a value's held-back beginning too. */
function redactResult(result: ExecResult, redactor: Redactor): ExecResult {
  if (redactor.empty) return result;
  const redact = (text: string, truncated: boolean) => {
    const stream = redactor.textStream();
    return stream.push(text) + (truncated ? '' : stream.end());
  };
  return { ...result, stdout: redact(result.stdout, result.stdoutTruncated), stderr: redact(result.stderr, result.stderrTruncated) };
}

export class ContainersService {
  private readonly announcer: ProcessAnnouncer;

  constructor(private readonly deps: ContainersServiceDeps) {
    this.announcer = new ProcessAnnouncer(deps.bus);
  }

  /** The longest a command may run (EXEC_MAX_TIMEOUT_SECONDS); also the timeout of a streaming run that names none. */
  get maxExecTimeoutMs(): number {
    return this.deps.config.execTimeoutMs;
  }

  async status(principal: Principal, projectId: string): Promise<SandboxStatus> {
    await this.deps.authorize(principal, projectId, 'read');
    return this.deps.manager.status(projectId);
  }

  async start(principal: Principal, projectId: string): Promise<SandboxStatus> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    await this.deps.manager.ensureRunning(projectId, project.stack);
    return this.deps.manager.status(projectId);
  }

  async stop(principal: Principal, projectId: string): Promise<SandboxStatus> {
    await this.deps.authorize(principal, projectId, 'execute');
    await this.deps.manager.stop(projectId);
    return this.deps.manager.status(projectId);
  }

  async restart(principal: Principal, projectId: string): Promise<SandboxStatus> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    await this.deps.manager.restart(projectId, project.stack);
    return this.deps.manager.status(projectId);
  }

  /** Removes the container; the workspace stays and the next use creates a fresh container on it. */
  async removeContainer(principal: Principal, projectId: string): Promise<void> {
    await this.deps.authorize(principal, projectId, 'admin');
    await this.deps.manager.removeContainer(projectId);
  }

  async stats(principal: Principal, projectId: string): Promise<SandboxStats> {
    await this.deps.authorize(principal, projectId, 'read');
    return this.deps.manager.stats(projectId);
  }

  async logs(principal: Principal, projectId: string, tail: number): Promise<string> {
    await this.deps.authorize(principal, projectId, 'read');
    const logs = await this.deps.manager.logs(projectId, tail);
    return (await this.redactor(projectId)).redact(logs);
  }

  /** A command for a caller with "execute": the project's secrets in its environment, their values redacted from its output. */
  async exec(principal: Principal, projectId: string, request: ExecRequest): Promise<ExecResult> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    const { env, redactor } = await this.secretEnv(principal, project, request.env, 'exec');
    try {
      return redactResult(await this.run(projectId, project.stack, { ...request, env }), redactor);
    } catch (err) {
      throw redactError(err, redactor);
    }
  }

  /**
   * The caller's variables over the project's secrets over its services' variables (DATABASE_URL, REDIS_URL...): the caller's
   * own, checked first, win a clash, and a secret of the same name wins over a service's (a project that keeps its
   * database elsewhere says so with a secret). Only callers that were checked for "execute" get here.
   */
  private async secretEnv(
    principal: Principal,
    project: AuthorizedProject,
    given: Record<string, string> | undefined,
    context: string,
  ): Promise<{ env: Record<string, string> | undefined; redactor: Redactor }> {
    validateEnv(given);
    const services = this.deps.manager.servicesEnv(project.id, project.services);
    if (!this.deps.secrets) return { env: { ...services, ...given }, redactor: Redactor.none };
    const secrets = await this.deps.secrets.projectEnv(principal, project.id, context);
    return { env: { ...services, ...secrets.env, ...given }, redactor: secrets.redactor };
  }

  private redactor(projectId: string): Promise<Redactor> {
    return this.deps.secrets ? this.deps.secrets.redactorFor(projectId) : Promise.resolve(Redactor.none);
  }

  /** Runs a command for a service that checked the caller's access itself (the files service's search). */
  async run(projectId: string, stack: Stack, request: ExecRequest): Promise<ExecResult> {
    if (request.timeoutMs > this.deps.config.execTimeoutMs) {
      throw new AppError('VALIDATION_FAILED', `timeoutMs may be at most ${this.deps.config.execTimeoutMs}`);
    }
    // Validated here whichever way the command runs.
    const argv = argvOf(request.command);
    const cwd = await this.resolveCwd(projectId, stack, request.cwd);
    const env = validateEnv(request.env);
    const outputLimit = this.deps.config.execOutputLimitBytes;
    const endpoint = await this.deps.manager.agentEndpoint(projectId, stack);
    if (endpoint) {
      try {
        const exec = agentExec(endpoint, { argv, cwd, env, timeoutMs: request.timeoutMs, stdin: request.stdin ?? '', outputLimit });
        return await this.deps.manager.keepAwakeWhile(projectId, stack, exec);
      } catch (err) {
        if (!(err instanceof AgentUnavailable)) throw err;
        // The agent did not answer (not up yet, or gone): the command did not run; docker exec is slower but sure.
        this.deps.manager.forgetAgent(projectId);
      }
    }
    const container = await this.deps.manager.ensureRunning(projectId, stack);
    return runExec(this.deps.docker, container, { ...request, cwd }, { outputLimitBytes: outputLimit });
  }

  /** Starts a command whose output streams to the writables; the handle writes stdin and kills. */
  async startExec(
    principal: Principal,
    projectId: string,
    request: ExecRequest,
    output: { onStdout: Writable; onStderr: Writable; execId: string },
  ): Promise<ExecHandle> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    if (request.timeoutMs > this.deps.config.execTimeoutMs) {
      throw new AppError('VALIDATION_FAILED', `timeoutMs may be at most ${this.deps.config.execTimeoutMs}`);
    }
    const { env, redactor } = await this.secretEnv(principal, project, request.env, 'exec.stream');
    const cwd = await this.resolveCwd(projectId, project.stack, request.cwd);
    const container = await this.deps.manager.ensureRunning(projectId, project.stack);
    if (redactor.empty) return startExec(this.deps.docker, container, { ...request, env, cwd }, output);
    // A value split across chunks is held back until it is known; what is held goes out before the exit.
    const stdout = redactingWritable(output.onStdout, redactor);
    const stderr = redactingWritable(output.onStderr, redactor);
    const handle = await startExec(this.deps.docker, container, { ...request, env, cwd }, { ...output, onStdout: stdout, onStderr: stderr });
    const done = handle.done.then(async (exit) => {
      await Promise.all([stdout.drainHeld(), stderr.drainHeld()]);
      return exit;
    });
    return { writeStdin: (data) => handle.writeStdin(data), endStdin: () => handle.endStdin(), kill: () => handle.kill(), done };
  }

  /** The project's secrets as a new terminal's environment (`NAME=value` lines), for a caller with "execute". */
  async terminalEnv(principal: Principal, projectId: string): Promise<string[]> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    const { env } = await this.secretEnv(principal, project, undefined, 'terminal');
    return validateEnv(env);
  }

  /** Throws unless the principal may still run commands in the project (an attached terminal re-checks with it). */
  async checkExecute(principal: Principal, projectId: string): Promise<void> {
    await this.deps.authorize(principal, projectId, 'execute');
  }

  /**
   * The project's agent for its terminals, the caller's execute permission checked (on every open and reattach)
   * and the sandbox started or resumed as needed; `cwd` resolved like exec's.
   */
  async terminalAgent(principal: Principal, projectId: string, cwd?: string): Promise<{ endpoint: AgentEndpointRef; cwd: string }> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    const resolved = await this.resolveCwd(projectId, project.stack, cwd);
    const endpoint = await this.deps.manager.agentEndpoint(projectId, project.stack);
    if (!endpoint) throw new AppError('SERVICE_UNAVAILABLE', "This sandbox's agent cannot serve terminals yet: restart the sandbox");
    return { endpoint, cwd: resolved };
  }

  /**
   * Starts a managed process: `sh -c <command>` in its own process group in the sandbox, running on after this
   * call (and after this API instance) until it exits or is stopped; its output is kept, its ports found.
   */
  async startProcess(
    principal: Principal,
    projectId: string,
    request: StartProcessRequest,
    options: { context?: string } = {},
  ): Promise<ProcessInfo> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    const command = request.command;
    if (typeof command !== 'string' || command.trim() === '') throw new AppError('VALIDATION_FAILED', 'The command is empty');
    if (Buffer.byteLength(command) > agentProcesses.MAX_PROCESS_COMMAND_BYTES) {
      throw new AppError('VALIDATION_FAILED', `The command may be at most ${agentProcesses.MAX_PROCESS_COMMAND_BYTES} bytes`);
    }
    if (command.includes('\0')) throw new AppError('VALIDATION_FAILED', 'The command contains a NUL byte');
    const env = validateEnv((await this.secretEnv(principal, project, request.env, options.context ?? 'process')).env);
    const cwd = await this.resolveCwd(projectId, project.stack, request.cwd);
    let used: { url: string; token: string } | undefined;
    const info = await this.withAgent(projectId, project.stack, (endpoint) => {
      used = endpoint;
      return agentProcesses.startProcess(endpoint, { command, cwd, env });
    });
    this.announcer.started(projectId, info, actorOf(principal));
    // Followed at the address it was started at, without resuming or touching the sandbox: following must not keep
    // an idle sandbox awake, and a sandbox restarted elsewhere has lost the process anyway.
    const endpoint = used!;
    this.announcer.follow(projectId, info, (id, timeoutMs, signal) => agentProcesses.waitProcess(endpoint, id, timeoutMs, signal));
    return info;
  }

  /** The project's managed processes, running and recently exited, oldest first. */
  async listProcesses(principal: Principal, projectId: string): Promise<ProcessInfo[]> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    const { processes } = await this.sandboxProcesses(projectId, project.stack);
    for (const info of processes) this.announcer.observed(projectId, info, actorOf(principal));
    return processes;
  }

  /** The processes and every listening port of a sandbox, for a service that checked the caller's access (the preview's). */
  sandboxProcesses(projectId: string, stack: Stack): Promise<{ processes: ProcessInfo[]; listening: number[] }> {
    return this.withAgent(projectId, stack, (endpoint) => agentProcesses.listProcesses(endpoint));
  }

  /** Who listens on a TCP port of a sandbox, for a service that checked the caller's access (the preview's). */
  async listenerOf(projectId: string, stack: Stack, port: number): Promise<{ pid: number; command: string } | null> {
    if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new AppError('VALIDATION_FAILED', 'A TCP port is from 1 to 65535');
    const result = await this.run(projectId, stack, { command: ['sh', '-c', LISTENER_SCRIPT, 'listener', String(port)], timeoutMs: 5000 });
    return result.exitCode === 0 ? parseListener(result.stdout) : null;
  }

  async getProcess(principal: Principal, projectId: string, id: string): Promise<ProcessInfo> {
    return this.onProcess(principal, projectId, (endpoint) => agentProcesses.getProcess(endpoint, id));
  }

  /** The process once it exited, or as it is when `timeoutMs` (at most a minute) passed. */
  async waitProcess(principal: Principal, projectId: string, id: string, options: { timeoutMs: number }): Promise<ProcessInfo> {
    const timeoutMs = Math.trunc(options.timeoutMs);
    if (!(timeoutMs >= 0 && timeoutMs <= agentProcesses.MAX_WAIT_MS)) {
      throw new AppError('VALIDATION_FAILED', `timeoutMs is from 0 to ${agentProcesses.MAX_WAIT_MS}`);
    }
    return this.onProcess(principal, projectId, (endpoint) => agentProcesses.waitProcess(endpoint, id, timeoutMs));
  }

  /** TERM to the process's whole group, KILL two seconds later to what is left; the process as it ended. */
  async stopProcess(principal: Principal, projectId: string, id: string): Promise<ProcessInfo> {
    return this.onProcess(principal, projectId, (endpoint) => agentProcesses.stopProcess(endpoint, id));
  }

  /** Output (stdout and stderr interleaved) from byte offset `after` on; the agent keeps each process's last 1 MiB. */
  async processOutput(principal: Principal, projectId: string, id: string, options: { after?: number; limit?: number }): Promise<ProcessOutput> {
    const after = options.after ?? 0;
    const limit = options.limit ?? agentProcesses.MAX_OUTPUT_READ_BYTES;
    if (!Number.isSafeInteger(after) || after < 0) throw new AppError('VALIDATION_FAILED', 'after is a byte offset (0 or more)');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > agentProcesses.MAX_OUTPUT_READ_BYTES) {
      throw new AppError('VALIDATION_FAILED', `limit is from 1 to ${agentProcesses.MAX_OUTPUT_READ_BYTES} bytes`);
    }
    const project = await this.deps.authorize(principal, projectId, 'execute');
    const output = await this.withAgent(projectId, project.stack, (endpoint) => agentProcesses.processOutput(endpoint, id, { after, limit }));
    const redactor = await this.redactor(projectId);
    if (redactor.empty) return output;
    // A tail that may begin a value is held back (`next` stops before it) until the next read shows how it ends, or
    // the process has exited and nothing more will come.
    const stream = redactor.textStream();
    const shown = stream.push(output.output);
    const held = stream.pending();
    if (held === '') return { ...output, output: shown };
    const info = await this.withAgent(projectId, project.stack, (endpoint) => agentProcesses.getProcess(endpoint, id));
    if (info.status === 'exited') {
      const more = await this.withAgent(projectId, project.stack, (endpoint) => agentProcesses.processOutput(endpoint, id, { after: output.next, limit: 1 }));
      if (more.output === '') return { ...output, output: shown + stream.end() };
    }
    return { ...output, output: shown, next: output.next - Buffer.byteLength(held, 'utf8') };
  }

  /** Stops following processes (the app is closing); the processes themselves run on in their sandboxes. */
  close(): void {
    this.announcer.close();
  }

  private async onProcess(
    principal: Principal,
    projectId: string,
    call: (endpoint: { url: string; token: string }) => Promise<ProcessInfo>,
  ): Promise<ProcessInfo> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    const info = await this.withAgent(projectId, project.stack, call);
    this.announcer.observed(projectId, info, actorOf(principal));
    return info;
  }

  /**
   * Calls the sandbox's agent, the sandbox started or resumed as exec does. An agent that provably did not get the
   * request (its address changed with a restart elsewhere) is looked up again once.
   */
  private async withAgent<T>(projectId: string, stack: Stack, call: (endpoint: { url: string; token: string }) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const endpoint = await this.deps.manager.agentEndpoint(projectId, stack);
      if (!endpoint) {
        throw new AppError(
          'SERVICE_UNAVAILABLE',
          "This sandbox was created before its agent existed and cannot keep processes: remove its container (the workspace is kept) to get a current one",
        );
      }
      try {
        return await call(endpoint);
      } catch (err) {
        if (!(err instanceof AgentUnavailable)) throw err;
        this.deps.manager.forgetAgent(projectId);
        if (attempt >= 1) throw new AppError('SERVICE_UNAVAILABLE', "The sandbox's agent does not answer; try again shortly");
      }
    }
  }

  /**
   * The working directory as the sandbox will reach it, resolved like every file path: symlinks followed only
   * while they stay inside the workspace, so a link to / cannot move a command out of it.
   */
  private async resolveCwd(projectId: string, stack: Stack, cwd: string | undefined): Promise<string> {
    const lexical = workspaceCwd(cwd);
    if (lexical === WORKSPACE) return lexical;
    const workspace = new Workspace(await fs.realpath(await this.deps.manager.workspaceDir(projectId, stack)));
    const resolved = await workspace.resolve(lexical.slice(WORKSPACE.length + 1), { followFinal: true });
    if (!resolved.stat?.isDirectory()) {
      throw new AppError('INVALID_PATH', 'The working directory is not a directory', { cwd });
    }
    return resolved.parts.length === 0 ? WORKSPACE : `${WORKSPACE}/${relPath(resolved.parts)}`;
  }

  /** After a change of the project's `services` setting: its services started or removed now (see SandboxManager). */
  syncServices(projectId: string): Promise<void> {
    return this.deps.manager.syncServices(projectId);
  }

  /** Run before a project is deleted: snapshot the workspace, then remove everything of the sandbox. */
  destroyForProject(projectId: string): Promise<string | null> {
    return this.deps.manager.destroy(projectId);
  }
}

/** Announces sandbox state changes on the event bus. */
export function sandboxEvents(bus: EventBus) {
  return (projectId: string, state: SandboxStatus['state']) => {
    void bus.publish(makeEvent(projectId, `sandbox.${state === 'absent' ? 'removed' : state}`, { state }, { kind: 'system' }));
  };
}
