/**
 * Running a generator on a project: its IR (which must be valid) becomes files in its workspace, written
 * through the files service (access, path safety, change events), with hand edits kept (see regenerate.ts).
 * The record of what was written lives in the workspace too, at `.vaporform/generated/<generator>.json`.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Principal } from '../../lib/access.js';
import { AppError } from '../../lib/errors.js';
import type { FilesService } from '../files/index.js';
import type { ProjectIrService } from '../ir/index.js';
import type { GeneratorOptions } from './plugin.js';
import { planWrite, type Conflict, type GenerationRecord } from './regenerate.js';
import type { GeneratorRegistry } from './registry.js';

/** The generator a stack gets when the request names none. */
const DEFAULT_GENERATOR: Record<string, string> = { node: 'typescript-http', go: 'go-http' };

export interface GenerationReport {
  generator: string;
  version: string;
  written: string[];
  unchanged: number;
  conflicts: Conflict[];
  orphaned: string[];
  durationMs: number;
}

export class GenerateService {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false });

  constructor(
    private readonly deps: { registry: GeneratorRegistry; ir: ProjectIrService; files: FilesService },
  ) {}

  async generate(
    principal: Principal,
    projectId: string,
    request: { generator?: string | undefined; options?: GeneratorOptions | undefined },
  ): Promise<GenerationReport> {
    const started = performance.now();
    const reading = await this.deps.ir.read(principal, projectId);
    if (!reading.valid) {
      throw new AppError('UNPROCESSABLE', 'The IR has errors: fix them before generating', {
        diagnostics: reading.diagnostics,
      });
    }
    const runtime = reading.model.project?.stack.runtime ?? '';
    const name = request.generator ?? DEFAULT_GENERATOR[runtime];
    const generator = name ? this.deps.registry.get(name) : undefined;
    if (!generator) {
      throw new AppError('VALIDATION_FAILED', name ? `No generator "${name}"` : `No built-in generator for the ${runtime} stack yet`, {
        available: this.deps.registry.list().map((manifest) => manifest.name),
      });
    }
    const options = request.options ?? {};
    const validate = this.ajv.compile(generator.manifest.optionsSchema);
    if (!validate(options)) {
      throw new AppError('VALIDATION_FAILED', `Options do not fit ${generator.manifest.name}'s schema`, { errors: validate.errors });
    }
    const files = generator.generate(reading.model, options);
    const recordPath = `.vaporform/generated/${generator.manifest.name}.json`;
    const previous = await this.readText(principal, projectId, recordPath);
    const current = new Map<string, string>();
    for (const file of files) {
      const text = await this.readText(principal, projectId, file.path);
      if (text !== undefined) current.set(file.path, text);
    }
    const plan = planWrite(previous ? (JSON.parse(previous) as GenerationRecord) : null, current, files, generator.manifest);
    for (const write of plan.writes) {
      await this.deps.files.write(principal, projectId, write.path, Buffer.from(write.content, 'utf8'));
    }
    await this.deps.files.write(principal, projectId, recordPath, Buffer.from(`${JSON.stringify(plan.record, null, 2)}\n`));
    return {
      generator: generator.manifest.name,
      version: generator.manifest.version,
      written: plan.writes.map((write) => write.path),
      unchanged: plan.unchanged.length,
      conflicts: plan.conflicts,
      orphaned: plan.orphaned,
      durationMs: Math.round(performance.now() - started),
    };
  }

  private async readText(principal: Principal, projectId: string, path: string): Promise<string | undefined> {
    try {
      return (await this.deps.files.read(principal, projectId, path)).content.toString('utf8');
    } catch (err) {
      if (err instanceof AppError && err.code === 'FILE_NOT_FOUND') return undefined;
      throw err;
    }
  }
}
