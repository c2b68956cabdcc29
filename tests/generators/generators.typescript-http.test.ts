/**
 * The TypeScript HTTP generator: the expected layout, a parseable OpenAPI document listing every route, JavaScript
 * that Node accepts, and generated tests that pass under `node --test` with nothing installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { typescriptHttpGenerator } from '../../services/generators/index.js';
import { fixtureModel, writeTemp } from './helpers.js';

const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('typescript-http generator', () => {
  const ecommerce = typescriptHttpGenerator.generate(fixtureModel('ecommerce'), {});

  it('writes the expected files for the ecommerce model', () => {
    expect(ecommerce.map((f) => f.path)).toEqual([
      'client/index.d.ts',
      'client/index.js',
      'migrations/001_inventory.sql',
      'migrations/001_order.sql',
      'migrations/001_payment.sql',
      'migrations/schema.json',
      'openapi.json',
      'package.json',
      'src/domain/inventory/product.js',
      'src/domain/order/order.js',
      'src/domain/payment/payment.js',
      'src/engine.js',
      'src/main.js',
      'src/migrations.js',
      'src/repositories/memory.js',
      'src/repositories/postgres.js',
      'src/repositories/repository.js',
      'src/server.js',
      'src/validate.js',
      'test/order.test.js',
      'test/payment.test.js',
      'test/product.test.js',
    ]);
    const pkg = JSON.parse(ecommerce.find((f) => f.path === 'package.json')!.content);
    expect(pkg).toMatchObject({ type: 'module', scripts: { test: 'node --test' } });
    expect(pkg.dependencies).toEqual({ pg: '^8.11.0' });
    const sql = ecommerce.find((f) => f.path === 'migrations/001_order.sql')!.content;
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "order_orders"');
    expect(sql).toMatch(/"shipping_address" JSONB NOT NULL/);
    expect(sql).toMatch(/"customer_id" UUID NOT NULL/);
  });

  it('is deterministic', () => {
    expect(typescriptHttpGenerator.generate(fixtureModel('ecommerce'), {})).toEqual(ecommerce);
  });

  it('describes every command and query route in a valid OpenAPI 3.1 document', () => {
    const doc = JSON.parse(ecommerce.find((f) => f.path === 'openapi.json')!.content);
    expect(doc.openapi).toBe('3.1.0');
    const model = fixtureModel('ecommerce');
    for (const { context } of model.contexts) {
      for (const command of context.commands) {
        const route = Object.keys(doc.paths).find((p) => p.endsWith(`/commands/${command.name}`));
        expect(route, command.name).toBeDefined();
        expect(doc.paths[route!].post.requestBody.content['application/json'].schema.type).toBe('object');
      }
      for (const query of context.queries) {
        const route = Object.keys(doc.paths).find((p) => p.endsWith(`/queries/${query.name}`));
        expect(route, query.name).toBeDefined();
        const names = doc.paths[route!].get.parameters.map((p: { name: string }) => p.name);
        expect(names.filter((n: string) => n !== 'limit' && n !== 'offset')).toEqual(query.parameters.map((p) => p.name));
      }
    }
    expect(doc.paths['/order/orders/commands/PlaceOrder']).toBeDefined();
    expect(doc.components.schemas.Order.required).toContain('items');
    // Every $ref points at a schema that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(doc.components.schemas[ref], ref).toBeDefined();
  });

  it('produces JavaScript that node --check accepts', () => {
    const dir = writeTemp(ecommerce, 'ts-check');
    temps.push(dir);
    for (const file of ecommerce.filter((f) => f.path.endsWith('.js'))) {
      execFileSync(process.execPath, ['--check', path.join(dir, file.path)]);
    }
  });

  it.each(['hr-leave', 'ecommerce'])('the %s service passes its own generated tests (node --test, nothing installed)', (name) => {
    const dir = writeTemp(typescriptHttpGenerator.generate(fixtureModel(name), {}), `ts-${name}`);
    temps.push(dir);
    const run = spawnSync(process.execPath, ['--test'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/# fail 0/);
    expect(Number(/# pass (\d+)/.exec(output)?.[1])).toBeGreaterThanOrEqual(name === 'hr-leave' ? 15 : 24);
  });
});
