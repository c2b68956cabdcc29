/**
 * The declared layers hold: lib <- services <- gateway/workflows. A service reaches another only through its
 * index.ts, and so does code outside services (workflows/, sandbox-images/); lib imports no service; workflow
 * definitions import activities as types only (no I/O in them). Imports are read by the TypeScript compiler (its
 * API over the project's own tsconfig.json), so `export ... from`, `import()`, `import x = require()` and type-only
 * forms are all seen, in every file the project compiles. The IDE (ide/, its own tsconfig.json) takes nothing of
 * the server but the shared wire types, lib/api-types.ts, as types.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SyntaxKind, type Node, type SourceFile } from 'typescript/unstable/ast';
import {
  isCallExpression,
  isElementAccessExpression,
  isExportDeclaration,
  isExternalModuleReference,
  isImportDeclaration,
  isImportEqualsDeclaration,
  isImportTypeNode,
  isLiteralTypeNode,
  isNamedExports,
  isNamedImports,
  isPropertyAccessExpression,
  isStringLiteral,
} from 'typescript/unstable/ast/is';
import { API } from 'typescript/unstable/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../lib/config.js';

interface ModuleReference {
  /** The specifier as written; `<computed>` when it is not a literal (which no rule can check). */
  spec: string;
  /** Erased at compile time: `import type`, type-only names, `import('x').T` in a type. */
  typeOnly: boolean;
}

interface FileFacts {
  references: ModuleReference[];
  /** Code (not text in a string: a generator's templates) that reads `process.env`. */
  readsEnv: boolean;
}

const isNamed = (node: Node, name: string) => node.kind === SyntaxKind.Identifier && 'text' in node && node.text === name;

/** Every module the file refers to, in source order, and whether it reads the environment. */
function factsOf(file: SourceFile): FileFacts {
  const found: ModuleReference[] = [];
  let readsEnv = false;
  const literal = (node: Node | undefined) => (node && isStringLiteral(node) ? node.text : '<computed>');
  const visit = (node: Node): void => {
    if (isImportDeclaration(node)) {
      const clause = node.importClause;
      const namesTypeOnly =
        clause !== undefined &&
        !clause.name &&
        clause.namedBindings !== undefined &&
        isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((element) => element.isTypeOnly);
      found.push({ spec: literal(node.moduleSpecifier), typeOnly: clause?.phaseModifier === SyntaxKind.TypeKeyword || namesTypeOnly });
    } else if (isExportDeclaration(node) && node.moduleSpecifier) {
      const clause = node.exportClause;
      const namesTypeOnly =
        clause !== undefined && isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((element) => element.isTypeOnly);
      found.push({ spec: literal(node.moduleSpecifier), typeOnly: node.isTypeOnly || namesTypeOnly });
    } else if (isImportEqualsDeclaration(node) && isExternalModuleReference(node.moduleReference)) {
      found.push({ spec: literal(node.moduleReference.expression), typeOnly: node.isTypeOnly });
    } else if (isCallExpression(node) && (node.expression.kind === SyntaxKind.ImportKeyword || isNamed(node.expression, 'require'))) {
      found.push({ spec: literal(node.arguments[0]), typeOnly: false });
    } else if (isImportTypeNode(node)) {
      const argument = node.argument;
      found.push({ spec: isLiteralTypeNode(argument) ? literal(argument.literal) : '<computed>', typeOnly: true });
    } else if (isPropertyAccessExpression(node) && isNamed(node.expression, 'process') && isNamed(node.name, 'env')) {
      readsEnv = true;
    } else if (isElementAccessExpression(node) && isNamed(node.expression, 'process')) {
      readsEnv = true;
    }
    node.forEachChild((child) => void visit(child));
  };
  visit(file);
  return { references: found, readsEnv };
}

/** Reads every file a tsconfig.json compiles (outside node_modules): path relative to `root`, and its facts. */
function readProject(root: string): Map<string, FileFacts> {
  const api = new API({ cwd: root });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [path.join(root, 'tsconfig.json')] });
    const project = snapshot.getProjects()[0]!;
    const files = new Map<string, FileFacts>();
    for (const name of project.program.getSourceFileNames()) {
      if (name.includes('/node_modules/') || !name.startsWith(root + path.sep)) continue;
      files.set(path.relative(root, name).split(path.sep).join('/'), factsOf(project.program.getSourceFile(name)!));
    }
    return files;
  } finally {
    api.close();
  }
}

/** Where a relative specifier leads, relative to the root; null for a package or a builtin. */
function target(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
}

/** The worker pool loads the task module its caller names (a URL the caller's typed `workerTask` holds). */
const LOADERS = new Set(['lib/worker-pool-boot.mjs', 'lib/worker-pool-thread.ts']);

/** Breaches of the layers, as `file -> specifier (why)`. */
function violations(files: Map<string, FileFacts>): string[] {
  const found: string[] = [];
  for (const [file, { references }] of files) {
    const [top, service] = file.split('/');
    for (const { spec, typeOnly } of references) {
      const to = target(file, spec);
      const [toTop, toService, ...rest] = (to ?? '').split('/');
      const production = top === 'lib' || top === 'services' || top === 'workflows' || top === 'sandbox-images';
      if (production && spec === '<computed>' && !LOADERS.has(file)) found.push(`${file} -> ${spec} (a module no one can check)`);
      if (top === 'lib' && to !== null && toTop !== 'lib') found.push(`${file} -> ${spec} (lib imports only lib)`);
      const intoOtherService = toTop === 'services' && !(top === 'services' && service === toService);
      if (production && intoOtherService && rest.join('/') !== 'index.js') found.push(`${file} -> ${spec} (another service only through its index.ts)`);
      if (file.startsWith('workflows/definitions/') && !typeOnly && spec !== '@temporalio/workflow' && !(to ?? '').startsWith('workflows/definitions/')) {
        found.push(`${file} -> ${spec} (workflow definitions import activities and everything else as types only)`);
      }
    }
  }
  return found.sort();
}

/** The one server module the IDE may use: the wire types, as types (it runs in a browser, bundled apart). */
const SHARED_WITH_IDE = 'lib/api-types';

/** Breaches of the IDE's boundary (files relative to ide/): nothing of the server but the shared types. */
function ideViolations(files: Map<string, FileFacts>): string[] {
  const found: string[] = [];
  for (const [file, { references }] of files) {
    for (const { spec, typeOnly } of references) {
      if (spec === '<computed>') {
        found.push(`ide/${file} -> ${spec} (a module no one can check)`);
        continue;
      }
      const to = target(`ide/${file}`, spec);
      if (to === null || to.startsWith('ide/')) continue;
      if (to.replace(/\.(js|ts)$/, '') !== SHARED_WITH_IDE) found.push(`ide/${file} -> ${spec} (the IDE shares only ${SHARED_WITH_IDE}.ts with the server)`);
      else if (!typeOnly) found.push(`ide/${file} -> ${spec} (the shared types are imported as types only)`);
    }
  }
  return found.sort();
}

let repository: Map<string, FileFacts>;
let ide: Map<string, FileFacts>;
beforeAll(() => {
  repository = readProject(repoRoot);
  ide = readProject(path.join(repoRoot, 'ide'));
});

describe('the import reader', () => {
  let dir: string;
  afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

  it('sees export-from, dynamic import(), require and type-only forms, and tells type-only from not', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vf-layering-'));
    const files: Record<string, string> = {
      'tsconfig.json': await readFile(path.join(repoRoot, 'tsconfig.json'), 'utf8').then((text) =>
        text.replace(/"include": \[[^\]]*\]/, '"include": ["lib", "services", "workflows"]').replace(/"types": \["node"\]/, '"types": []'),
      ),
      'services/a/index.ts': 'export const a = 1;\n',
      'services/a/internal.ts': 'export const secret = 1;\nexport type Shape = { x: number };\n',
      'services/b/service.ts': [
        "export * from '../a/internal.js';",
        "export { secret as s } from '../a/internal.js';",
        "export type { Shape } from '../a/internal.js';",
        "import { type Shape as S2 } from '../a/internal.js';",
        "import '../a/internal.js';",
        "export async function late() { return (await import('../a/internal.js')).secret; }",
        "export type T = import('../a/internal.js').Shape | S2;",
        "export const ok = (await import('../a/index.js')).a;",
        'export async function anything(name: string) { return import(name); }',
      ].join('\n'),
      'lib/helper.ts': "export type FromService = import('../services/a/index.js').Nothing;\nexport const home = process.env.HOME;\n",
      'lib/template.ts': 'export const code = "const port = process.env.PORT;";\n',
      'workflows/definitions/flow.ts': [
        "import type * as activities from '../activities/index.js';",
        "import { run } from '../activities/index.js';",
        'export type A = typeof activities;',
        'export const r = run;',
      ].join('\n'),
      'workflows/activities/index.ts': 'export function run() {}\n',
    };
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
    const read = readProject(dir);
    expect(read.get('services/b/service.ts')?.references).toEqual([
      { spec: '../a/internal.js', typeOnly: false },
      { spec: '../a/internal.js', typeOnly: false },
      { spec: '../a/internal.js', typeOnly: true },
      { spec: '../a/internal.js', typeOnly: true },
      { spec: '../a/internal.js', typeOnly: false },
      { spec: '../a/internal.js', typeOnly: false },
      { spec: '../a/internal.js', typeOnly: true },
      { spec: '../a/index.js', typeOnly: false },
      { spec: '<computed>', typeOnly: false },
    ]);
    expect(read.get('lib/helper.ts')?.readsEnv).toBe(true);
    expect(read.get('lib/template.ts')?.readsEnv).toBe(false);
    expect(violations(read)).toEqual([
      'lib/helper.ts -> ../services/a/index.js (lib imports only lib)',
      ...Array(7).fill('services/b/service.ts -> ../a/internal.js (another service only through its index.ts)'),
      'services/b/service.ts -> <computed> (a module no one can check)',
      'workflows/definitions/flow.ts -> ../activities/index.js (workflow definitions import activities and everything else as types only)',
    ]);
  });
});

describe('the IDE boundary', () => {
  it('refuses any server module but the shared types, and those only as types', () => {
    const facts = (...references: ModuleReference[]): FileFacts => ({ references, readsEnv: false });
    const files = new Map<string, FileFacts>([
      ['src/api.ts', facts({ spec: '../../lib/api-types.js', typeOnly: true }, { spec: './session', typeOnly: false }, { spec: 'monaco-editor', typeOnly: false })],
      ['src/views/x.ts', facts({ spec: '../../../lib/api-types', typeOnly: true }, { spec: '../../../lib/api-types.js', typeOnly: false })],
      ['src/leak.ts', facts({ spec: '../../services/projects/index.js', typeOnly: true }, { spec: '../../lib/errors.js', typeOnly: false })],
      ['src/any.ts', facts({ spec: '<computed>', typeOnly: false })],
    ]);
    expect(ideViolations(files)).toEqual([
      'ide/src/any.ts -> <computed> (a module no one can check)',
      'ide/src/leak.ts -> ../../lib/errors.js (the IDE shares only lib/api-types.ts with the server)',
      'ide/src/leak.ts -> ../../services/projects/index.js (the IDE shares only lib/api-types.ts with the server)',
      'ide/src/views/x.ts -> ../../../lib/api-types.js (the shared types are imported as types only)',
    ]);
  });

  it("holds for the IDE's own tree, read through its tsconfig.json", () => {
    expect([...ide.keys()]).toContain('src/main.ts');
    expect(ideViolations(ide)).toEqual([]);
  });

  it('the shared types import nothing, so the browser bundle can take them as they are', () => {
    expect(repository.get('lib/api-types.ts')?.references).toEqual([]);
  });
});

describe('layering', () => {
  it('reads the whole tree the project compiles, the generators and workflows included', () => {
    for (const file of ['lib/config.ts', 'services/gateway/app.ts', 'services/generators/go-http/index.ts', 'workflows/definitions/ping.ts', 'workflows/activities/index.ts']) {
      expect([...repository.keys()]).toContain(file);
    }
  });

  it('holds: services and workflows through index.ts, lib alone, workflow definitions with types only', () => {
    expect(violations(repository)).toEqual([]);
  });

  it('nothing outside config reads process.env', () => {
    const readers = [...repository]
      .filter(([file, { readsEnv }]) => readsEnv && /^(lib|services|workflows|sandbox-images)\//.test(file))
      .map(([file]) => file);
    expect(readers).toEqual(['lib/config.ts']);
  });
});
