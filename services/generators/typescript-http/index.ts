/**
 * The TypeScript HTTP service generator: strict TypeScript on Fastify, zod and pg, answering HTTP-CONTRACT.md.
 * `npm start` and `npm test` build with tsc to dist/ first. Storage is a Store interface with a memory and a
 * PostgreSQL implementation; main uses PostgreSQL when DATABASE_URL is set (migrations/ applied first) and
 * memory otherwise; the generated tests run on memory, and on PostgreSQL too when DATABASE_URL is set.
 * Migrations evolve: a later model change adds a new migration file (see ../sql-migrations.ts), never rewriting
 * an old one. Per aggregate there are two files (its domain module and its test), so a change to one aggregate
 * rewrites those, the model-wide list (src/aggregates.ts), the OpenAPI document and the client.
 */
import type { Model } from '../../ir/index.js';
import { json, kebab, viewModel, type AggregateView } from '../ir-view.js';
import type { GeneratedFile, Generator, GeneratorOptions } from '../plugin.js';
import { evolveGeneratedMigrations, initialMigrationFiles } from '../sql-migrations.js';
import { domainModule, domainPath, testFile, testPath } from './aggregate-files.js';
import { clientTestTs, clientTs, openapi } from './contract-files.js';
import { aggregatesTs, runtimeFiles } from './runtime.js';

const WHOLE = ['*'];

/** Caret ranges of versions published on npm; Node 20 is the sandbox's. */
const DEPENDENCIES = { fastify: '^5.12.8', pg: '^8.23.1', zod: '^3.25.76' };
const DEV_DEPENDENCIES = { '@types/node': '^20.19.43', '@types/pg': '^8.23.1', typescript: '^7.0.2' };

function packageJson(model: Model, options: GeneratorOptions): string {
  const name = typeof options.packageName === 'string' ? options.packageName : kebab(model.project?.name ?? 'app') || 'app';
  return json({
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    description: model.project?.description ?? `The ${model.project?.name ?? 'app'} service`,
    engines: { node: '>=20' },
    main: 'dist/src/server.js',
    scripts: {
      build: "node -e \"require('fs').rmSync('dist', { recursive: true, force: true })\" && tsc -p .",
      typecheck: 'tsc --noEmit -p .',
      start: 'npm run build && node dist/src/main.js',
      test: 'npm run build && node --test dist/test/*.test.js',
    },
    dependencies: DEPENDENCIES,
    devDependencies: DEV_DEPENDENCIES,
  });
}

const TSCONFIG = json({
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: true,
    types: ['node'],
    rootDir: '.',
    outDir: 'dist',
    sourceMap: true,
  },
  include: ['src', 'test', 'client'],
});

const aggregateFiles = (a: AggregateView): GeneratedFile[] => [
  { path: domainPath(a), content: domainModule(a), dependsOn: a.dependsOn },
  { path: testPath(a), content: testFile(a), dependsOn: a.dependsOn },
];

export const typescriptHttpGenerator: Generator = {
  manifest: {
    name: 'typescript-http',
    version: '0.2.0',
    language: 'typescript',
    framework: 'fastify',
    optionsSchema: {
      type: 'object',
      properties: { packageName: { type: 'string', description: 'package.json name; defaults to the project name in kebab-case' } },
      additionalProperties: false,
    },
  },
  generate(model, options) {
    const contexts = viewModel(model);
    const title = model.project?.name ?? 'Service';
    const files: GeneratedFile[] = [
      { path: 'package.json', content: packageJson(model, options), dependsOn: WHOLE },
      { path: 'tsconfig.json', content: TSCONFIG, dependsOn: [] },
      { path: 'openapi.json', content: openapi(title, contexts), dependsOn: WHOLE },
      { path: 'client/index.ts', content: clientTs(contexts), dependsOn: WHOLE },
      { path: 'test/client.test.ts', content: clientTestTs(contexts), dependsOn: WHOLE },
      { path: 'src/aggregates.ts', content: aggregatesTs(contexts), dependsOn: WHOLE },
      ...runtimeFiles(),
      ...initialMigrationFiles(contexts),
      ...contexts.flatMap((c) => c.aggregates.flatMap(aggregateFiles)),
    ];
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  },
  evolve: evolveGeneratedMigrations,
};
