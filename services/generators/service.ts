/**
 * Running a generator on a project: its IR (which must be valid) becomes files in its workspace, written
 * through the files service (access, path safety, change events), with hand edits kept (see regenerate.ts).
 * The record of what was written lives in the workspace too, at `.vaporform/generated/<generator>.json`.
 * Everything whose cost follows the model runs in worker threads (worker-tasks.ts); this side only does I/O.
 */
import type { Principal } from '../../lib/access.js';
import { AppError } from '../../lib/errors.js';
import { workerTask, type WorkerPool } from '../../lib/worker-pool.js';
import type { FilesService } from '../files/index.js';
import type { ProjectIrService } from '../ir/index.js';
import type { GeneratorOptions } from './plugin.js';
import { MAX_RECORD_BYTES, type Conflict } from './regenerate.js';
import type * as tasks from './worker-tasks.js';

const TASKS = new URL('./worker-tasks.ts', import.meta.url);
const generateTask = workerTask<typeof tasks.generate>(TASKS, 'generate');
const planTask = workerTask<typeof tasks.plan>(TASKS, 'plan');
const evolveTask = workerTask<typeof tasks.evolve>(TASKS, 'evolve');
const TOO_MUCH = { tooMuch: 'The model is too large or too complex to generate from' };

export interface GenerationReport {
  generator: string;
  version: string;
  written: string[];
  unchanged: number;
  /** Hand-edited generated files left alone because their generated output did not change (no conflict). */
  kept: string[];
  conflicts: Conflict[];
  orphaned: string[];
  /** What the person should know, e.g. that a broken generation record was ignored. */
  warnings: string[];
  durationMs: number;
}

export class GenerateService {
  constructor(private readonly deps: { ir: ProjectIrService; files: FilesService; workers: WorkerPool }) {}

  async generate(
    principal: Principal,
    projectId: string,
    request: { generator?: string | undefined; options?: GeneratorOptions | undefined; allowDestructive?: boolean | undefined },
  ): Promise<GenerationReport> {
    const started = performance.now();
    const ir = await this.deps.ir.input(principal, projectId);
    let generation = await this.deps.workers.run(generateTask, { ir, generator: request.generator, options: request.options ?? {} }, TOO_MUCH);
    const recordPath = `.vaporform/generated/${generation.generator.name}.json`;
    const warnings: string[] = [];
    const record = await this.readText(principal, projectId, recordPath, MAX_RECORD_BYTES).catch((err: unknown) => {
      // Whatever the sandbox left there (too large, a directory, a link), it only costs the record.
      if (!(err instanceof AppError)) throw err;
      warnings.push(`${recordPath} could not be read (${err.message}); it was ignored, so every generated file that differs from the new output is treated as hand-edited`);
      return undefined;
    });
    const current = new Map<string, string>();
    const readCurrent = async () => {
      for (const file of generation.files) {
        if (current.has(file.path)) continue;
        const text = await this.readText(principal, projectId, file.path);
        if (text !== undefined) current.set(file.path, text);
      }
    };
    await readCurrent();
    if (generation.evolves) {
      // Fitted to what earlier generations left (old migrations stay as they are); may refuse, writing nothing.
      const allowDestructive = request.allowDestructive === true;
      generation = await this.deps.workers.run(evolveTask, { ...generation, current: [...current], allowDestructive }, TOO_MUCH);
      await readCurrent();
    }
    const { plan, warnings: planWarnings } = await this.deps.workers.run(
      planTask,
      { ...generation, record: record === undefined ? undefined : { path: recordPath, text: record }, current: [...current] },
      TOO_MUCH,
    );
    for (const write of plan.writes) {
      await this.deps.files.write(principal, projectId, write.path, Buffer.from(write.content, 'utf8'));
    }
    // The files are written: a record the sandbox made unwritable (a directory, a FIFO, a link out) costs only
    // the record, as an unreadable one does, and the answer must not say that the generation failed.
    await this.deps.files.write(principal, projectId, recordPath, Buffer.from(`${JSON.stringify(plan.record, null, 2)}\n`)).catch((err: unknown) => {
      if (!(err instanceof AppError)) throw err;
      warnings.push(`${recordPath} could not be written (${err.message}); until it can, every generated file that differs from the new output is treated as hand-edited`);
    });
    return {
      generator: generation.generator.name,
      version: generation.generator.version,
      written: plan.writes.map((write) => write.path),
      unchanged: plan.unchanged.length,
      kept: plan.kept,
      conflicts: plan.conflicts,
      orphaned: plan.orphaned,
      warnings: [...warnings, ...planWarnings],
      durationMs: Math.round(performance.now() - started),
    };
  }

  private async readText(principal: Principal, projectId: string, path: string, maxBytes?: number): Promise<string | undefined> {
    try {
      return (await this.deps.files.read(principal, projectId, path, maxBytes === undefined ? {} : { maxBytes })).content.toString('utf8');
    } catch (err) {
      if (err instanceof AppError && err.code === 'FILE_NOT_FOUND') return undefined;
      throw err;
    }
  }
}
