/** A toolbox built from a test app's services, as the agent worker builds it, and a context for its calls. */
import type { Principal } from '../../lib/access.js';
import { createToolbox, type Toolbox, type ToolCall, type ToolContext, type ToolJournal, type ToolResult } from '../../services/agents/tools/index.js';
import type { TestApp } from './app.js';

export function appToolbox(app: TestApp): Toolbox {
  const { services, config } = app;
  return createToolbox({
    ir: services.ir,
    files: services.files,
    generate: services.generate,
    containers: services.containers,
    maxCommandTimeoutMs: config.sandbox.execTimeoutMs,
  });
}

/** The run's journal in memory (the real one is durable); `failPuts` makes the next puts of a done result fail, as a crash would. */
export class MemoryJournal implements ToolJournal {
  readonly entries = new Map<string, unknown>();
  failDone = 0;

  async get(key: string): Promise<unknown | undefined> {
    return structuredClone(this.entries.get(key));
  }

  async put(key: string, value: unknown): Promise<void> {
    if (this.failDone > 0 && (value as { state?: string }).state === 'done') {
      this.failDone--;
      throw new Error('worker crashed before the result was recorded');
    }
    this.entries.set(key, structuredClone(value));
  }
}

export function toolContext(projectId: string, principal: Principal, overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    projectId,
    runId: 'run-test',
    step: 1,
    principal,
    journal: new MemoryJournal(),
    signal: new AbortController().signal,
    heartbeat: () => {},
    ...overrides,
  };
}

let calls = 0;

/** Runs one call with a fresh id. */
export function call(toolbox: Toolbox, ctx: ToolContext, name: string, input: unknown): Promise<ToolResult> {
  return toolbox.execute({ id: `call-${++calls}`, name, input } satisfies ToolCall, ctx);
}
