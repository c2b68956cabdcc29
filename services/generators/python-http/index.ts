/**
 * The Python generator: a FastAPI service (pydantic v2 models with the IR's rules, psycopg 3 for PostgreSQL, pytest)
 * that keeps HTTP-CONTRACT.md. The fixed files (engine, stores, migrations runner, app) never depend on the model;
 * each aggregate has its own module and test file, so regenerating one aggregate touches few files. The SQL
 * migrations are the shared ones (../sql-migrations.ts) and evolve with the model.
 */
import { snake, viewModel, type AggregateView } from '../ir-view.js';
import type { GeneratedFile, Generator } from '../plugin.js';
import { openapi } from '../openapi.js';
import { evolveGeneratedMigrations, initialMigrationFiles } from '../sql-migrations.js';
import { aggregateModule, aggregateModuleSource, aggregateTestSource, contextPackage, modulePath } from './aggregate-files.js';
import { py } from './python-source.js';
import { initPy, PY_HEADER, runtimeFiles } from './runtime.js';

const WHOLE = ['*'];

/** The module listing every aggregate (app/main.py serves what it lists) and the service's title. */
function aggregatesPy(title: string, aggregates: AggregateView[]): string {
  const alias = (a: AggregateView) => `${snake(a.context)}_${snake(a.name)}`.toUpperCase();
  const imports = aggregates.map((a) => `from ${aggregateModule(a)} import AGGREGATE as ${alias(a)}`);
  return `${PY_HEADER}"""Every aggregate of the model, by context and name, and the service's title."""
${imports.join('\n')}

TITLE = ${py(title)}
AGGREGATES = (${aggregates.map((a) => `${alias(a)}, `).join('')})
`;
}

/**
 * `tests/test_<aggregate>.py`, with the context in front when two contexts have an aggregate of that name or the
 * name is the fixed test_service.py's.
 */
function testPath(a: AggregateView, all: AggregateView[]): string {
  const shared = snake(a.name) === 'service' || all.filter((b) => snake(b.name) === snake(a.name)).length > 1;
  return `tests/test_${shared ? `${snake(a.context)}_` : ''}${snake(a.name)}.py`;
}

export const pythonHttpGenerator: Generator = {
  manifest: {
    name: 'python-http',
    version: '0.1.0',
    language: 'python',
    framework: 'fastapi',
    optionsSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
  generate(model) {
    const contexts = viewModel(model);
    const aggregates = contexts.flatMap((c) => c.aggregates);
    const title = model.project?.name ?? 'Service';
    const files: GeneratedFile[] = [
      ...runtimeFiles(),
      { path: 'openapi.json', content: openapi(title, contexts), dependsOn: WHOLE },
      { path: 'app/aggregates.py', content: aggregatesPy(title, aggregates), dependsOn: WHOLE },
      ...initialMigrationFiles(contexts),
      ...contexts.flatMap((c) => [
        { path: `app/${contextPackage(c.name)}/__init__.py`, content: initPy(`The ${c.name} context.`), dependsOn: WHOLE },
        ...c.aggregates.flatMap((a) => [
          { path: modulePath(a), content: aggregateModuleSource(a), dependsOn: a.dependsOn },
          { path: testPath(a, aggregates), content: aggregateTestSource(a), dependsOn: a.dependsOn },
        ]),
      ]),
    ];
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  },
  evolve: evolveGeneratedMigrations,
};
