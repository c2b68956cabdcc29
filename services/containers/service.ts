/** Sandboxes as the API offers them: access checked, the project's stack chosen, changes announced. */
import { promises as fs } from 'node:fs';
import type { Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { Permission, Principal } from '../../lib/access.js';
import type { Config } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';
import { makeEvent, type EventBus } from '../../lib/event-bus.js';
import { relPath, Workspace } from '../../lib/workspace-paths.js';
import { agentExec, AgentUnavailable } from './agent-client.js';
import { argvOf, runExec, startExec, validateEnv, workspaceCwd, type ExecHandle, type ExecRequest, type ExecResult } from './exec.js';
import type { SandboxManager, SandboxStats, SandboxStatus, Stack } from './sandboxes.js';
import { WORKSPACE } from './sandbox-spec.js';
import type { AgentEndpointRef } from './terminal-agent.js';

/** The projects service's access check, as this service needs it. */
export type AuthorizeProject = (
  principal: Principal,
  projectId: string,
  permission: Permission,
) => Promise<{ id: string; stack: Stack; previewPort: number }>;

export interface ContainersServiceDeps {
  docker: Docker;
  manager: SandboxManager;
  authorize: AuthorizeProject;
  config: Config['sandbox'];
}

export class ContainersService {
  constructor(private readonly deps: ContainersServiceDeps) {}

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
    return this.deps.manager.logs(projectId, tail);
  }

  async exec(principal: Principal, projectId: string, request: ExecRequest): Promise<ExecResult> {
    const project = await this.deps.authorize(principal, projectId, 'execute');
    return this.run(projectId, project.stack, request);
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
        return await agentExec(endpoint, { argv, cwd, env, timeoutMs: request.timeoutMs, stdin: request.stdin ?? '', outputLimit });
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
    validateEnv(request.env);
    const cwd = await this.resolveCwd(projectId, project.stack, request.cwd);
    const container = await this.deps.manager.ensureRunning(projectId, project.stack);
    return startExec(this.deps.docker, container, { ...request, cwd }, output);
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
