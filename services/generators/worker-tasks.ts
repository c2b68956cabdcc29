/**
 * Generation's work that runs in a worker thread (lib/worker-pool.ts): checking the model, running the
 * generator (its sample values follow the model's validation rules) and planning the writes all cost what the
 * model's author wrote. The generators are the built-ins' registry, made again in each thread.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { AppError } from '../../lib/errors.js';
import { readModel, type IrInput } from '../ir/index.js';
import type { GeneratedFile, GeneratorManifest, GeneratorOptions } from './plugin.js';
import { parseRecord, planWrite, type WritePlan } from './regenerate.js';
import { builtinGenerators } from './registry.js';

/** The generator a stack gets when the request names none. */
const DEFAULT_GENERATOR: Record<string, string> = { node: 'typescript-http', python: 'python-http', go: 'go-http' };

const registry = builtinGenerators();
const ajv = new Ajv2020({ allErrors: true, strict: false });

export interface Generation {
  generator: Pick<GeneratorManifest, 'name' | 'version'>;
  files: GeneratedFile[];
  /** Whether the generator fits its output to the workspace (see `evolve`). */
  evolves?: boolean;
}

export function generate(input: { ir: IrInput; generator?: string | undefined; options: GeneratorOptions }): Generation {
  const reading = readModel(input.ir.files, input.ir.unread);
  if (!reading.valid) {
    throw new AppError('UNPROCESSABLE', 'The IR has errors: fix them before generating', { diagnostics: reading.diagnostics });
  }
  const runtime = reading.model.project?.stack.runtime ?? '';
  const name = input.generator ?? DEFAULT_GENERATOR[runtime];
  const generator = name ? registry.get(name) : undefined;
  if (!generator) {
    throw new AppError('VALIDATION_FAILED', name ? `No generator "${name}"` : `No built-in generator for the ${runtime} stack yet`, {
      available: registry.list().map((manifest) => manifest.name),
    });
  }
  const validate = ajv.compile(generator.manifest.optionsSchema);
  if (!validate(input.options)) {
    throw new AppError('VALIDATION_FAILED', `Options do not fit ${generator.manifest.name}'s schema`, { errors: validate.errors });
  }
  const { name: generatorName, version } = generator.manifest;
  const files = generator.generate(reading.model, input.options);
  return { generator: { name: generatorName, version }, files, ...(generator.evolve ? { evolves: true } : {}) };
}

/** The generator's `evolve` (if any) on its fresh output, given the workspace's texts at the generated paths. */
export function evolve(input: Generation & { current: Array<[string, string]>; allowDestructive: boolean }): Generation {
  const generator = registry.get(input.generator.name);
  if (!generator?.evolve) return { generator: input.generator, files: input.files };
  return { generator: input.generator, files: generator.evolve(input.files, new Map(input.current), { allowDestructive: input.allowDestructive }) };
}

export function plan(
  input: Generation & { record: { path: string; text: string } | undefined; current: Array<[string, string]> },
): { plan: WritePlan; warnings: string[] } {
  const parsed = input.record ? parseRecord(input.record.text, input.record.path, input.generator.name) : { record: null };
  return {
    plan: planWrite(parsed.record, new Map(input.current), input.files, input.generator),
    warnings: parsed.warning ? [parsed.warning] : [],
  };
}
