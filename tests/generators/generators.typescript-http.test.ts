/**
 * The TypeScript HTTP generator: strict TypeScript sources on Fastify, zod and pg with the expected layout, a
 * parseable OpenAPI document listing every route, and a service that type-checks with zero errors and passes
 * its own generated tests (`npm test`: tsc, then node --test) once its dependencies are installed.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { typescriptHttpGenerator } from '../../services/generators/index.js';
import { fixtureModel, linkTypescriptDependencies, npmRun, writeTemp } from './helpers.js';

const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const RUNTIME = [
  '.gitignore',
  'src/config.ts',
  'src/engine.ts',
  'src/errors.ts',
  'src/main.ts',
  'src/migrations.ts',
  'src/openapi.ts',
  'src/server.ts',
  'src/spec.ts',
  'src/storage.ts',
  'src/store/memory.ts',
  'src/store/postgres.ts',
  'src/store/store.ts',
  'src/validation.ts',
  'test/service.test.ts',
  'test/support.ts',
];

describe('typescript-http generator', () => {
  const ecommerce = typescriptHttpGenerator.generate(fixtureModel('ecommerce'), {});
  const text = (p: string): string => ecommerce.find((f) => f.path === p)!.content;

  it('writes TypeScript sources, their tests, a strict tsconfig and a package.json that builds with tsc', () => {
    expect(ecommerce.map((f) => f.path)).toEqual(
      [
        'client/index.ts',
        'migrations/001_inventory.sql',
        'migrations/001_order.sql',
        'migrations/001_payment.sql',
        'migrations/schema.json',
        'openapi.json',
        'package.json',
        'src/aggregates.ts',
        'src/domain/inventory/product.ts',
        'src/domain/order/order.ts',
        'src/domain/payment/payment.ts',
        'test/client.test.ts',
        'test/inventory-product.test.ts',
        'test/order-order.test.ts',
        'test/payment-payment.test.ts',
        'tsconfig.json',
        ...RUNTIME,
      ].sort(),
    );
    expect(ecommerce.filter((f) => /\.(js|mjs|cjs)$/.test(f.path))).toEqual([]);
    const pkg = JSON.parse(text('package.json'));
    expect(pkg).toMatchObject({
      type: 'module',
      scripts: {
        build: expect.stringMatching(/&& tsc -p \.$/),
        typecheck: 'tsc --noEmit -p .',
        start: 'npm run build && node dist/src/main.js',
        test: 'npm run build && node --test dist/test/*.test.js',
      },
    });
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['fastify', 'pg', 'zod']);
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(['@types/node', '@types/pg', 'typescript']);
    expect(pkg.dependencies.fastify).toMatch(/^\^5\./);
    expect(pkg.dependencies.zod).toMatch(/^\^3\./);
    const tsconfig = JSON.parse(text('tsconfig.json'));
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, outDir: 'dist', module: 'NodeNext' });
    const sql = text('migrations/001_order.sql');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "order_orders"');
    expect(sql).toMatch(/"shipping_address" JSONB NOT NULL/);
    expect(sql).toMatch(/"_version" INTEGER NOT NULL DEFAULT 1/);
    // The domain module holds the aggregate's types and its data, with `sets` (not the superseded `assigns`).
    const order = text('src/domain/order/order.ts');
    expect(order).toContain('export type Order = {');
    expect(order).toContain('export const aggregate: AggregateSpec = {');
    expect(order).toContain('"sets": [');
    expect(order).not.toContain('"assigns"');
  });

  it('is deterministic', () => {
    expect(typescriptHttpGenerator.generate(fixtureModel('ecommerce'), {})).toEqual(ecommerce);
  });

  it('describes every route of the contract in a valid OpenAPI 3.1 document', () => {
    const doc = JSON.parse(text('openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/health'].get).toBeDefined();
    expect(doc.paths['/openapi.json'].get).toBeDefined();
    const model = fixtureModel('ecommerce');
    for (const { context } of model.contexts) {
      for (const command of context.commands) {
        const route = Object.keys(doc.paths).find((p) => p.endsWith(`/commands/${command.name}`));
        expect(route, command.name).toBeDefined();
        expect(doc.paths[route!].post.requestBody.content['application/json'].schema.type).toBe('object');
        expect(doc.paths[route!].post.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
      }
      for (const query of context.queries) {
        const route = Object.keys(doc.paths).find((p) => p.endsWith(`/queries/${query.name}`));
        expect(route, query.name).toBeDefined();
        const names = doc.paths[route!].get.parameters.map((p: { name: string }) => p.name);
        expect(names.filter((n: string) => n !== 'limit' && n !== 'offset')).toEqual(query.parameters.map((p) => p.name));
      }
    }
    const place = doc.paths['/order/orders/commands/PlaceOrder'].post;
    expect(place.responses['201'].headers).toHaveProperty('ETag');
    expect(place.responses['201'].headers).toHaveProperty('Location');
    expect(doc.components.schemas.OrderCommandResult.required).toEqual(['entity', 'version', 'events']);
    expect(doc.paths['/order/orders'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/OrderPage' });
    expect(doc.components.schemas.OrderPage.required).toEqual(['items', 'limit', 'offset', 'total']);
    expect(doc.components.schemas.Order.required).toContain('items');
    // Every $ref points at a schema that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(doc.components.schemas[ref], ref).toBeDefined();
  });

  it.each(['hr-leave', 'ecommerce'])('the %s service type-checks with zero errors and passes its own tests (npm test)', { timeout: 300_000 }, (name) => {
    const dir = writeTemp(typescriptHttpGenerator.generate(fixtureModel(name), {}), `ts-${name}`);
    temps.push(dir);
    linkTypescriptDependencies(dir);
    const typecheck = npmRun(dir, 'typecheck');
    expect(typecheck.status, typecheck.output).toBe(0);
    expect(typecheck.output).not.toMatch(/error TS/);
    const tests = npmRun(dir, 'test', { DATABASE_URL: '' });
    expect(tests.status, tests.output).toBe(0);
    expect(tests.output).toMatch(/# fail 0/);
    expect(Number(/# pass (\d+)/.exec(tests.output)?.[1])).toBeGreaterThanOrEqual(name === 'hr-leave' ? 20 : 30);
  });
});
