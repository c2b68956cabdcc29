/** What every tool family is built from: the services it acts through, and the shape of one tool. */
import type { ContainersService } from '../../containers/index.js';
import type { FilesService } from '../../files/index.js';
import type { GenerateService } from '../../generators/index.js';
import type { ProjectIrService } from '../../ir/index.js';
import type { LlmTool } from '../providers/index.js';
import type { ManagedProcesses, ProcessRunner } from './process-runner.js';
import type { ToolCall, ToolContext, ToolResult } from './types.js';

/** The services' public interfaces a toolbox acts through, each call as the run's principal. */
export interface ToolDeps {
  ir: Pick<ProjectIrService, 'input' | 'read' | 'apply'>;
  files: Pick<FilesService, 'tree' | 'read' | 'write' | 'search'>;
  generate: Pick<GenerateService, 'generate'>;
  /** Exec, and the managed processes when the containers service has them (then background commands work). */
  containers: Pick<ContainersService, 'exec'> & Partial<ManagedProcesses>;
  /** How commands run; by default the containers service's managed processes, or its exec when it has none. */
  processes?: ProcessRunner;
  /** The longest a foreground command is waited for (EXEC_MAX_TIMEOUT_SECONDS). Default 600 s. */
  maxCommandTimeoutMs?: number;
  /** The tools' descriptions (a prompt's `tools`); by default those of the latest `agent` prompt. */
  descriptions?: Readonly<Record<string, string>>;
}

export interface ResolvedDeps extends Omit<ToolDeps, 'processes' | 'maxCommandTimeoutMs' | 'descriptions'> {
  processes: ProcessRunner;
  maxCommandTimeoutMs: number;
}

export interface ToolSpec {
  /** The description comes from the prompt's tool descriptions (prompts/agent/v<N>.tools.md). */
  definition: Omit<LlmTool, 'description'>;
  run(call: ToolCall, ctx: ToolContext): Promise<ToolResult>;
}
