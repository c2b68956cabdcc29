/**
 * The generated TypeScript service on the library model (members, books, loans), run as a user runs it: with
 * the process east of UTC (TZ=Asia/Tokyo, Pacific/Auckland). Impossible dates get 400, the IR's rules hold for
 * commands, every declared event is emitted, a create missing required fields is refused, every aggregate has
 * get-by-id and list, the PostgreSQL repository gives back the date it was given, and its migrations are applied
 * in order, once, by two processes starting at the same time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModel } from '../../services/ir/index.js';
import { typescriptHttpGenerator } from '../../services/generators/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { fixtureModel, writeTemp } from './helpers.js';

const temps: string[] = [];
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  await database?.drop();
});

const TIME_ZONES = ['Asia/Tokyo', 'Pacific/Auckland'];

/** Runs `script` (an ES module) inside the generated service's directory with TZ set; returns what it printed as JSON. */
function runIn(dir: string, script: string, tz: string, env: Record<string, string> = {}): any {
  writeFileSync(path.join(dir, 'check.mjs'), script);
  const run = spawnSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env, TZ: tz } });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout);
}

const HTTP_CHECK = `
import { createServer } from './src/server.js';
import { createMemoryRepository } from './src/repositories/memory.js';
const server = createServer({ repository: createMemoryRepository() });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = 'http://127.0.0.1:' + server.address().port;
const post = async (p, body) => { const r = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }); return { status: r.status, body: await r.json() }; };
const get = async (p) => { const r = await fetch(base + p); return { status: r.status, body: await r.json() }; };
const loan = (dueOn, isbn = '978-0-00-000000-2') => ({ memberId: '00000000-0000-4000-8000-000000000001', isbn, dueOn });
const out = {};
for (const day of ['2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01']) out[day] = await post('/lending/loans/commands/BorrowBook', loan(day));
const created = await post('/lending/loans/commands/BorrowBook', loan('2024-02-29'));
out.leapDay = created;
out.badIsbn = await post('/lending/loans/commands/BorrowBook', loan('2024-03-01', 'not an isbn'));
out.tooManyRenewals = await post('/lending/loans/commands/RenewLoan', { loanId: created.body.entity.id, dueOn: '2024-04-01', renewals: 4 });
out.returned = await post('/lending/loans/commands/ReturnBook', { loanId: created.body.entity.id, returnedOn: '2024-03-10' });
out.members = await get('/lending/members');
out.member = await get('/lending/members/00000000-0000-4000-8000-000000000009');
out.badMember = await get('/lending/members/not-a-uuid');
out.loan = await get('/lending/loans/' + created.body.entity.id);
out.loans = await get('/lending/loans?limit=5&offset=0');
server.closeAllConnections();
server.close();
console.log(JSON.stringify(out));
`;

describe('typescript-http on the library model', () => {
  const files = typescriptHttpGenerator.generate(fixtureModel('library'), {});

  it.each(TIME_ZONES)('refuses impossible dates, holds the IR rules in commands, emits every event, serves every aggregate (TZ=%s)', (tz) => {
    const dir = writeTemp(files, 'ts-library');
    temps.push(dir);
    const out = runIn(dir, HTTP_CHECK, tz);
    for (const day of ['2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01']) {
      expect(out[day].status, day).toBe(400);
      expect(out[day].body.error.details, day).toEqual([{ path: '/dueOn', message: 'must be a date' }]);
    }
    expect(out.leapDay.status).toBe(201);
    expect(out.leapDay.body.entity.dueOn).toBe('2024-02-29');
    expect(out.leapDay.body.events.map((e: { type: string }) => e.type)).toEqual(['BookBorrowed', 'LoanOpened']);
    expect(out.badIsbn.status).toBe(400);
    expect(out.badIsbn.body.error.details.map((p: { path: string }) => p.path)).toEqual(['/isbn']);
    expect(out.tooManyRenewals.status).toBe(400);
    expect(out.tooManyRenewals.body.error.details).toEqual([{ path: '/renewals', message: 'must be at most 3' }]);
    expect(out.returned.status).toBe(200);
    expect(out.returned.body.entity.returnedOn).toBe('2024-03-10');
    expect(out.members).toEqual({ status: 200, body: [] });
    expect(out.member.status).toBe(404);
    expect(out.badMember.status).toBe(400);
    expect(out.loan).toEqual({ status: 200, body: out.returned.body.entity });
    expect(out.loans).toEqual({ status: 200, body: [out.returned.body.entity] });
  });

  it('passes its own generated tests', () => {
    const dir = writeTemp(files, 'ts-library-own');
    temps.push(dir);
    const run = spawnSync(process.execPath, ['--test'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  });

  it('refuses (400) a create whose required fields no parameter gives, instead of storing zero values', () => {
    const yaml = loadFixture('library');
    yaml['ir/contexts/lending.yaml'] = yaml['ir/contexts/lending.yaml']!.replace(
      /    - name: BorrowBook\n      aggregate: Loan\n      creates: true\n      parameters:\n(        - .*\n)+      emits: .*\n/,
      '    - { name: BorrowBook, aggregate: Loan, creates: true }\n',
    );
    const reading = readModel(yaml);
    expect(reading.valid).toBe(true);
    expect(reading.diagnostics.map((d) => [d.code, d.severity])).toEqual([['COMMAND_MISSING_FIELDS', 'warning']]);
    const dir = writeTemp(typescriptHttpGenerator.generate(reading.model, {}), 'ts-library-empty');
    temps.push(dir);
    const out = runIn(
      dir,
      `import { createServer } from './src/server.js';
import { createMemoryRepository } from './src/repositories/memory.js';
const repository = createMemoryRepository();
const server = createServer({ repository });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const r = await fetch('http://127.0.0.1:' + server.address().port + '/lending/loans/commands/BorrowBook', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
const body = await r.json();
const stored = await repository.list({ name: 'lending_loans', idProperty: 'id', columns: [] });
server.closeAllConnections();
server.close();
console.log(JSON.stringify({ status: r.status, body, stored }));`,
      'UTC',
    );
    expect(out.status).toBe(400);
    expect(out.body.error.details.map((p: { path: string }) => p.path)).toEqual(['/memberId', '/isbn', '/dueOn']);
    expect(out.stored).toEqual([]);
    // Its generated test says so too, and passes.
    const run = spawnSync(process.execPath, ['--test'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('BorrowBook refuses to create a Loan without memberId, isbn, dueOn');
  });

  it.each(TIME_ZONES)('the PostgreSQL repository gives back the date it stored (TZ=%s)', (tz) => {
    const dir = writeTemp(files, 'ts-library-pg');
    temps.push(dir);
    const out = runIn(
      dir,
      `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createPostgresRepository } from './src/repositories/postgres.js';
import { aggregate } from './src/domain/lending/loan.js';
const pg = createRequire(process.env.PG_FROM)('pg');
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
const schema = 's_' + process.pid;
await pool.query('CREATE SCHEMA ' + schema);
pool.on('connect', (c) => c.query('SET search_path TO ' + schema));
await pool.query('SET search_path TO ' + schema);
await pool.query(readFileSync('migrations/001_lending.sql', 'utf8'));
const repository = createPostgresRepository(pool);
const loan = { id: '00000000-0000-4000-8000-000000000001', memberId: '00000000-0000-4000-8000-000000000002', isbn: '978-0-00-000000-2', dueOn: '2024-03-01', renewals: 0, returnedOn: '2024-12-31' };
await repository.save(aggregate.table, loan);
const got = await repository.get(aggregate.table, loan.id);
const listed = await repository.list(aggregate.table);
await pool.query('DROP SCHEMA ' + schema + ' CASCADE');
await pool.end();
console.log(JSON.stringify({ loan, got, listed }));`,
      tz,
      { DATABASE_URL: database.url, PG_FROM: createRequire(import.meta.url).resolve('pg') },
    );
    expect(out.got).toEqual(out.loan);
    expect(out.listed).toEqual([out.loan]);
  });

  it('applies its migrations in order and once, also when two processes start at the same time', async () => {
    const dir = writeTemp(files, 'ts-library-migrate');
    temps.push(dir);
    // A slow first migration: both processes are surely starting while it runs.
    writeFileSync(path.join(dir, 'migrations', '000_slow.sql'), 'SELECT pg_sleep(1);');
    writeFileSync(
      path.join(dir, 'migrate.mjs'),
      `import { createRequire } from 'node:module';
import { applyMigrations } from './src/migrations.js';
const pg = createRequire(process.env.PG_FROM)('pg');
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, options: '-c search_path=' + process.env.SCHEMA });
const applied = await applyMigrations(pool, new URL('./migrations/', import.meta.url));
await pool.end();
console.log(JSON.stringify(applied));`,
    );
    const schema = `m_${process.pid}`;
    await database.db.query(`CREATE SCHEMA ${schema}`);
    const env = { ...process.env, DATABASE_URL: database.url, PG_FROM: createRequire(import.meta.url).resolve('pg'), SCHEMA: schema };
    const migrate = () =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(process.execPath, ['migrate.mjs'], { cwd: dir, env });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        child.stderr.on('data', (chunk) => (err += chunk));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`migrate exited ${code}: ${err}`))));
      });
    try {
      const both = await Promise.all([migrate(), migrate()]);
      expect(both.map((applied) => applied.length).sort()).toEqual([0, 2]);
      expect(both.flat()).toEqual(['000_slow.sql', '001_lending.sql']);
      expect(await migrate()).toEqual([]);
      writeFileSync(path.join(dir, 'migrations', '002_note.sql'), 'ALTER TABLE lending_loans ADD COLUMN note TEXT;');
      expect(await migrate()).toEqual(['002_note.sql']);
      const { rows } = await database.db.query<{ name: string }>(`SELECT name FROM ${schema}.schema_migrations ORDER BY applied_at, name`);
      expect(rows.map((r) => r.name)).toEqual(['000_slow.sql', '001_lending.sql', '002_note.sql']);
    } finally {
      await database.db.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });
});
