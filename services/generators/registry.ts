/** Where generators are looked up by name; built-ins go through the same `register` a third party's would. */
import { AppError } from '../../lib/errors.js';
import { goHttpGenerator } from './go-http/index.js';
import { pythonHttpGenerator } from './python-http/index.js';
import { manifestProblems, type Generator, type GeneratorManifest } from './plugin.js';
import { typescriptHttpGenerator } from './typescript-http/index.js';

export class GeneratorRegistry {
  readonly #byName = new Map<string, Generator>();

  /** Refuses a generator whose manifest is invalid or whose name is taken. */
  register(generator: Generator): void {
    const problems = manifestProblems(generator?.manifest);
    if (problems.length > 0 || typeof generator.generate !== 'function') {
      throw new AppError('VALIDATION_FAILED', 'Invalid generator manifest', { problems: problems.length ? problems : ['generate must be a function'] });
    }
    if (this.#byName.has(generator.manifest.name)) {
      throw new AppError('ALREADY_EXISTS', `A generator named ${generator.manifest.name} is already registered`);
    }
    this.#byName.set(generator.manifest.name, generator);
  }

  get(name: string): Generator | undefined {
    return this.#byName.get(name);
  }

  /** Manifests sorted by name. */
  list(): GeneratorManifest[] {
    return [...this.#byName.values()].map((g) => g.manifest).sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** A registry holding the built-in generators. */
export function builtinGenerators(): GeneratorRegistry {
  const registry = new GeneratorRegistry();
  registry.register(typescriptHttpGenerator);
  registry.register(pythonHttpGenerator);
  registry.register(goHttpGenerator);
  return registry;
}
