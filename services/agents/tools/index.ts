/**
 * The agent's toolbox: the tools' definitions for the model, whether a call waits for a person, and their
 * execution as the run's principal through the services' public interfaces. `execute` never throws for
 * anything the model did (unknown tool, bad input, a refused change): that is an error result it can act
 * on. It throws only for failures of ours or of a component, so the activity fails and is retried; a retried
 * call never applies its effect twice (journal.ts).
 */
import { loadPrompt, renderDescription } from '../prompts.js';
import type { LlmTool } from '../providers/index.js';
import { approvalNeed, type ApprovalPolicy } from './approval.js';
import { commandTools, DEFAULT_COMMAND_TIMEOUT_SECONDS } from './command-tools.js';
import { fileTools } from './file-tools.js';
import { generatorTools } from './generator-tools.js';
import { irTools } from './ir-tools.js';
import { execProcessRunner, hasManagedProcesses, managedProcessRunner } from './process-runner.js';
import { failed, MODEL_OUTPUT_BYTES } from './results.js';
import type { ResolvedDeps, ToolDeps, ToolSpec } from './tool-spec.js';
import type { ApprovalNeed, ToolCall, ToolContext, ToolResult } from './types.js';

export type { ApprovalNeed, ToolCall, ToolContext, ToolDisplay, ToolJournal, ToolResult } from './types.js';
export type { ToolDeps } from './tool-spec.js';
export { approvalNeed, destructiveCommand, normalizePolicy, DEFAULT_APPROVAL_POLICY, type ApprovalPolicy } from './approval.js';
export { execProcessRunner, managedProcessRunner, hasManagedProcesses, type ProcessRunner, type ManagedProcesses } from './process-runner.js';
export { findPlaceholder } from './placeholders.js';
export { journalKey } from './journal.js';
export { capText, MODEL_OUTPUT_BYTES } from './results.js';
export { summarizeModel } from './ir-tools.js';

/** The names, in the order the model is shown them. */
export const TOOL_NAMES = [
  'read_ir',
  'update_ir',
  'list_files',
  'read_file',
  'write_file',
  'edit_file',
  'search_files',
  'run_command',
  'process_output',
  'stop_process',
  'run_generator',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export interface Toolbox {
  definitions(): LlmTool[];
  approval(call: ToolCall, policy: ApprovalPolicy): ApprovalNeed;
  execute(call: ToolCall, ctx: ToolContext): Promise<ToolResult>;
}

const DEFAULT_MAX_COMMAND_TIMEOUT_MS = 600_000;

export function createToolbox(deps: ToolDeps): Toolbox {
  const { containers } = deps;
  const resolved: ResolvedDeps = {
    ir: deps.ir,
    files: deps.files,
    generate: deps.generate,
    containers,
    processes: deps.processes ?? (hasManagedProcesses(containers) ? managedProcessRunner(containers) : execProcessRunner(containers)),
    maxCommandTimeoutMs: deps.maxCommandTimeoutMs ?? DEFAULT_MAX_COMMAND_TIMEOUT_MS,
  };
  const specs = new Map<string, ToolSpec>();
  for (const spec of [...irTools(resolved), ...fileTools(resolved), ...commandTools(resolved), ...generatorTools(resolved)]) {
    specs.set(spec.definition.name, spec);
  }
  const descriptions = deps.descriptions ?? loadPrompt('agent').tools;
  const maxTimeoutSeconds = Math.max(1, Math.floor(resolved.maxCommandTimeoutMs / 1000));
  const values = {
    maxTimeoutSeconds,
    defaultTimeoutSeconds: Math.min(DEFAULT_COMMAND_TIMEOUT_SECONDS, maxTimeoutSeconds),
    outputKiB: MODEL_OUTPUT_BYTES / 1024,
  };
  const definitions: LlmTool[] = TOOL_NAMES.map((name) => {
    const description = descriptions[name];
    if (description === undefined) throw new Error(`The tool descriptions have no section for ${name}`);
    return { ...specs.get(name)!.definition, description: renderDescription(description, values) };
  });
  return {
    definitions: () => definitions.map((definition) => ({ ...definition })),
    approval: (call, policy) => approvalNeed(call, policy),
    async execute(call, ctx) {
      const spec = typeof call.name === 'string' ? specs.get(call.name) : undefined;
      if (!spec) {
        return failed(`There is no tool named ${JSON.stringify(String(call.name).slice(0, 100))}. The tools are: ${TOOL_NAMES.join(', ')}.`);
      }
      return spec.run(call, ctx);
    },
  };
}
