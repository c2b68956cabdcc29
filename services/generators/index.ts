/** The generators service's public surface: the plugin contract, the registry, the built-ins, regeneration. */
export type { GeneratedFile, Generator, GeneratorManifest, GeneratorOptions, JsonSchemaObject } from './plugin.js';
export { manifestProblems } from './plugin.js';
export { GeneratorRegistry, builtinGenerators } from './registry.js';
export { typescriptHttpGenerator } from './typescript-http/index.js';
export { goHttpGenerator } from './go-http/index.js';
export { pythonHttpGenerator } from './python-http/index.js';
export { planWrite, parseRecord, hashContent, dependentFiles, type Conflict, type GenerationRecord, type WritePlan } from './regenerate.js';
export { GenerateService, type GenerationReport } from './service.js';
export { generatorsRoutes } from './routes.js';
