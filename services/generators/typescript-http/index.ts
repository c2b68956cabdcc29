/**
 * The TypeScript HTTP service generator. It emits ESM JavaScript with JSDoc types plus a `.d.ts` for the client
 * (not TypeScript sources): Node 20 cannot run .ts, and this way `npm test` (= `node --test`) runs offline with
 * zero installed packages. Persistence is an interface with an in-memory and a PostgreSQL implementation; the
 * PostgreSQL one takes a pg-compatible client rather than importing `pg`. `main.js` uses PostgreSQL when DATABASE_URL
 * is set (the project's own, in a Vaporform sandbox), importing `pg` (the one dependency) only then and applying
 * migrations/ first, and the memory store otherwise. Migrations evolve: a later model change adds a new migration
 * file (see ../sql-migrations.ts), never rewriting an old one.
 */
import type { Model } from '../../ir/index.js';
import { json, kebab, viewModel, type AggregateView } from '../ir-view.js';
import type { GeneratedFile, Generator, GeneratorOptions } from '../plugin.js';
import { domainModule, testFile } from './aggregate-files.js';
import { clientDts, clientJs, openapi } from './contract-files.js';
import { evolveGeneratedMigrations, initialMigrationFiles } from '../sql-migrations.js';
import { engineJs, memoryJs, mainJs, migrationsJs, postgresJs, repositoryJs, serverJs, validateJs } from './runtime.js';

const WHOLE = ['*'];

function packageJson(model: Model, options: GeneratorOptions): string {
  const name = typeof options.packageName === 'string' ? options.packageName : kebab(model.project?.name ?? 'app') || 'app';
  return json({
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    description: model.project?.description ?? `The ${model.project?.name ?? 'app'} service`,
    engines: { node: '>=20' },
    main: 'src/server.js',
    types: 'client/index.d.ts',
    scripts: { start: 'node src/main.js', test: 'node --test' },
    dependencies: { pg: '^8.11.0' },
  });
}

const aggregateFiles = (a: AggregateView): GeneratedFile[] => [
  { path: `src/domain/${kebab(a.context)}/${kebab(a.name)}.js`, content: domainModule(a), dependsOn: a.dependsOn },
  { path: `test/${kebab(a.name)}.test.js`, content: testFile(a), dependsOn: a.dependsOn },
];

export const typescriptHttpGenerator: Generator = {
  manifest: {
    name: 'typescript-http',
    version: '0.1.0',
    language: 'typescript',
    framework: 'node-http',
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
      { path: 'openapi.json', content: openapi(title, contexts), dependsOn: WHOLE },
      { path: 'client/index.js', content: clientJs(contexts), dependsOn: WHOLE },
      { path: 'client/index.d.ts', content: clientDts(contexts), dependsOn: WHOLE },
      { path: 'src/server.js', content: serverJs(contexts), dependsOn: WHOLE },
      { path: 'src/main.js', content: mainJs, dependsOn: [] },
      { path: 'src/migrations.js', content: migrationsJs, dependsOn: [] },
      { path: 'src/validate.js', content: validateJs, dependsOn: [] },
      { path: 'src/engine.js', content: engineJs, dependsOn: [] },
      { path: 'src/repositories/repository.js', content: repositoryJs, dependsOn: [] },
      { path: 'src/repositories/memory.js', content: memoryJs, dependsOn: [] },
      { path: 'src/repositories/postgres.js', content: postgresJs, dependsOn: [] },
      ...initialMigrationFiles(contexts),
      ...contexts.flatMap((c) => c.aggregates.flatMap(aggregateFiles)),
    ];
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  },
  evolve: evolveGeneratedMigrations,
};
