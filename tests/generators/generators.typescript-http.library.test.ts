/**
 * The generated TypeScript service on the library model (members, books, loans), built with tsc and run as a user
 * runs it, east and west of UTC (TZ=Asia/Tokyo, America/Los_Angeles), on the memory store and on PostgreSQL:
 * impossible dates and the IR's rules get 400 with JSON Pointer paths, every declared event is emitted, versions
 * go up one per change with ETag/If-Match (a stale one is 409 VERSION_CONFLICT, concurrent changes never
 * interleave), the IR's requires are enforced after If-Match (409 PRECONDITION_FAILED), pages come from the store, a row and its
 * events are written both or neither, dates come back as the day they were, and migrations are applied in order,
 * once, by two processes starting at the same time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModel } from '../../services/ir/index.js';
import { typescriptHttpGenerator, type GeneratedFile } from '../../services/generators/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { fixtureModel, linkTypescriptDependencies, npmRun, writeTemp } from './helpers.js';

const temps: string[] = [];
let database: TestDatabase;
let built: string;

/** Writes the files, links their dependencies and builds them (tsc to dist/). */
function build(files: GeneratedFile[], prefix: string): string {
  const dir = writeTemp(files, prefix);
  temps.push(dir);
  linkTypescriptDependencies(dir);
  const run = npmRun(dir, 'build');
  expect(run.status, run.output).toBe(0);
  return dir;
}

beforeAll(async () => {
  database = await createTestDatabase();
  built = build(typescriptHttpGenerator.generate(fixtureModel('library'), {}), 'ts-library');
}, 300_000);
afterAll(async () => {
  temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  await database?.drop();
});

const TIME_ZONES = ['Asia/Tokyo', 'America/Los_Angeles'];
let schemas = 0;

/** Runs `script` (an ES module) inside the built service's directory with TZ set; returns what it printed as JSON. */
function runIn(dir: string, script: string, tz: string, env: Record<string, string> = {}): any {
  writeFileSync(path.join(dir, 'check.mjs'), script);
  const run = spawnSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env, TZ: tz } });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout);
}

/** The app over the store STORAGE names (PostgreSQL: a fresh schema, its migrations applied), called through inject. */
const PRELUDE = `
import pg from 'pg';
import { aggregates } from './dist/src/aggregates.js';
import { applyMigrations } from './dist/src/migrations.js';
import { buildApp } from './dist/src/server.js';
import { MemoryStore } from './dist/src/store/memory.js';
import { PostgresStore } from './dist/src/store/postgres.js';
let pool;
let store = new MemoryStore();
if (process.env.STORAGE === 'postgres') {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query('CREATE SCHEMA ' + process.env.SCHEMA);
  await admin.end();
  pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, options: '-c search_path=' + process.env.SCHEMA });
  await applyMigrations(pool);
  store = new PostgresStore(pool);
}
const app = buildApp({ store, aggregates, openapi: {} });
const call = async (method, url, body, headers = {}) => {
  const res = await app.inject({ method, url, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: res.statusCode, etag: res.headers.etag, location: res.headers.location, body: JSON.parse(res.body) };
};
const post = (url, body, headers) => call('POST', url, body, headers);
const get = (url) => call('GET', url);
const out = {};
`;

const HTTP_CHECK = `${PRELUDE}
const loan = (dueOn, isbn = '978-0-00-000000-2') => ({ memberId: '00000000-0000-4000-8000-000000000001', isbn, dueOn });
for (const day of ['2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01']) out[day] = await post('/lending/loans/commands/BorrowBook', loan(day));
const created = await post('/lending/loans/commands/BorrowBook', loan('2024-02-29'));
out.leapDay = created;
const id = created.body.entity.id;
out.badIsbn = await post('/lending/loans/commands/BorrowBook', loan('2024-03-01', 'not an isbn'));
out.unknownField = await post('/lending/loans/commands/BorrowBook', { ...loan('2024-03-01'), extra: 1 });
out.notJson = await post('/lending/loans/commands/BorrowBook', '{"memberId":');
out.tooLarge = await post('/lending/loans/commands/BorrowBook', JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }));
out.tooManyRenewals = await post('/lending/loans/commands/RenewLoan', { loanId: id, dueOn: '2024-04-01', renewals: 4 });
out.renewed = await post('/lending/loans/commands/RenewLoan', { loanId: id, dueOn: '2024-04-01', renewals: 1 }, { 'if-match': '"1"' });
out.stale = await post('/lending/loans/commands/RenewLoan', { loanId: id, dueOn: '2024-04-01', renewals: 1 }, { 'if-match': '"1"' });
out.weak = await post('/lending/loans/commands/RenewLoan', { loanId: id, dueOn: '2024-04-01', renewals: 1 }, { 'if-match': 'W/"2"' });
out.concurrent = await Promise.all([1, 2, 3, 4, 5].map(() => post('/lending/loans/commands/RenewLoan', { loanId: id, dueOn: '2024-05-01', renewals: 2 })));
out.returned = await post('/lending/loans/commands/ReturnBook', { loanId: id, returnedOn: '2024-03-10' }, { 'if-match': '"8"' });
// The IR requires returnedOn unset for both changes; If-Match is checked first.
out.returnedAgain = await post('/lending/loans/commands/ReturnBook', { loanId: id, returnedOn: '2024-03-11' });
out.renewReturned = await post('/lending/loans/commands/RenewLoan', { loanId: id, dueOn: '2024-06-01', renewals: 3 });
out.staleReturned = await post('/lending/loans/commands/RenewLoan', { loanId: id, dueOn: '2024-06-01', renewals: 3 }, { 'if-match': '"8"' });
out.unknownLoan = await post('/lending/loans/commands/ReturnBook', { loanId: '00000000-0000-4000-8000-00000000ffff', returnedOn: '2024-03-10' });
out.members = await get('/lending/members');
out.member = await get('/lending/members/00000000-0000-4000-8000-000000000009');
out.badMember = await get('/lending/members/not-a-uuid');
out.loan = await get('/lending/loans/' + id);
out.loans = await get('/lending/loans?limit=5&offset=0');
out.badLimit = await get('/lending/loans?limit=1001');
out.byMember = await get('/lending/loans/queries/ListMemberLoans?memberId=00000000-0000-4000-8000-000000000001');
out.byOtherMember = await get('/lending/loans/queries/ListMemberLoans?memberId=00000000-0000-4000-8000-000000000002');
out.events = pool ? (await pool.query('SELECT aggregate, aggregate_id, type FROM lending_events ORDER BY seq')).rows : store.outbox.get('lending_events').map((e) => ({ aggregate: e.aggregate, aggregate_id: e.aggregateId, type: e.type }));
out.upper = await post('/lending/loans/commands/BorrowBook', { ...loan('2024-07-01'), memberId: '00000000-0000-4000-8000-0000000000AB' });
out.upperGet = await get('/lending/loans/' + id.toUpperCase());
if (pool) {
  // The outbox refuses the write: the loan is not stored either.
  await pool.query('ALTER TABLE lending_events RENAME TO lending_events_away');
  out.outboxDown = await post('/lending/loans/commands/BorrowBook', loan('2024-06-01'));
  await pool.query('ALTER TABLE lending_events_away RENAME TO lending_events');
  out.rowsAfterOutboxDown = (await pool.query('SELECT count(*)::int AS n FROM lending_loans')).rows[0].n;
  out.versionColumn = (await pool.query('SELECT _version FROM lending_loans WHERE id = $1', [id])).rows[0]._version;
}
await app.close();
await pool?.end();
console.log(JSON.stringify(out));
`;

describe('typescript-http on the library model', () => {
  describe.each(TIME_ZONES.flatMap((tz) => ['memory', 'postgres'].map((storage) => [tz, storage] as const)))('(TZ=%s, %s)', (tz, storage) => {
    it('answers the contract: rules, dates, events, versions, pages, queries, errors', () => {
      const out = runIn(built, HTTP_CHECK, tz, { STORAGE: storage, DATABASE_URL: database.url, SCHEMA: `lib_${process.pid}_${schemas++}` });
      for (const day of ['2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01']) {
        expect(out[day].status, day).toBe(400);
        expect(out[day].body.error, day).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: '/dueOn', message: 'must be a date' }] });
      }
      expect(out.leapDay.status).toBe(201);
      expect(out.leapDay.etag).toBe('"1"');
      const id = out.leapDay.body.entity.id;
      expect(out.leapDay.location).toBe(`/lending/loans/${id}`);
      expect(out.leapDay.body).toMatchObject({ version: 1, entity: { id, dueOn: '2024-02-29', renewals: 0 } });
      expect(out.leapDay.body.events).toEqual([
        { type: 'BookBorrowed', payload: { loanId: id, isbn: '978-0-00-000000-2' } },
        { type: 'LoanOpened', payload: { loanId: id, memberId: '00000000-0000-4000-8000-000000000001', dueOn: '2024-02-29' } },
      ]);
      expect(out.badIsbn.body.error.details).toEqual([{ path: '/isbn', message: 'must match ^[0-9X-]+$' }]);
      expect(out.unknownField.body.error.details).toEqual([{ path: '/extra', message: 'is not a known field' }]);
      expect(out.notJson).toMatchObject({ status: 400, body: { error: { code: 'MALFORMED_JSON' } } });
      expect(out.tooLarge).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
      expect(out.tooManyRenewals.status).toBe(400);
      expect(out.tooManyRenewals.body.error.details).toEqual([{ path: '/renewals', message: 'must be at most 3' }]);
      expect(out.renewed).toMatchObject({ status: 200, etag: '"2"', body: { version: 2, entity: { dueOn: '2024-04-01', renewals: 1 } } });
      expect(out.renewed.body.events).toEqual([{ type: 'LoanRenewed', payload: { loanId: id, dueOn: '2024-04-01' } }]);
      expect(out.stale).toMatchObject({ status: 409, body: { error: { code: 'VERSION_CONFLICT', details: { expected: 1, actual: 2 } } } });
      expect(out.weak).toMatchObject({ status: 200, etag: '"3"' });
      // Five changes at once, no If-Match: each applied on its own, one version each.
      expect(out.concurrent.map((r: { status: number }) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(out.concurrent.map((r: { body: { version: number } }) => r.body.version).sort()).toEqual([4, 5, 6, 7, 8]);
      expect(out.returned).toMatchObject({ status: 200, etag: '"9"', body: { version: 9, entity: { returnedOn: '2024-03-10' } } });
      for (const refused of [out.returnedAgain, out.renewReturned]) {
        expect(refused).toMatchObject({ status: 409, body: { error: { code: 'PRECONDITION_FAILED', details: { field: 'returnedOn', is: 'unset' } } } });
      }
      expect(out.staleReturned).toMatchObject({ status: 409, body: { error: { code: 'VERSION_CONFLICT', details: { expected: 8, actual: 9 } } } });
      expect(out.unknownLoan).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
      expect(out.members).toEqual({ status: 200, body: { items: [], limit: 100, offset: 0, total: 0 } });
      expect(out.member.status).toBe(404);
      expect(out.badMember.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: '/id', message: 'must be a uuid' }] });
      const stored = { id, memberId: '00000000-0000-4000-8000-000000000001', isbn: '978-0-00-000000-2', dueOn: '2024-05-01', renewals: 2, returnedOn: '2024-03-10' };
      expect(out.loan).toEqual({ status: 200, etag: '"9"', body: stored });
      expect(out.loans.body).toEqual({ items: [stored], limit: 5, offset: 0, total: 1 });
      expect(out.badLimit.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: '/limit' }] });
      expect(out.byMember.body).toEqual({ items: [stored], limit: 100, offset: 0, total: 1 });
      expect(out.byOtherMember.body).toEqual({ items: [], limit: 100, offset: 0, total: 0 });
      expect(out.events.map((e: { type: string }) => e.type)).toEqual(['BookBorrowed', 'LoanOpened', ...Array(7).fill('LoanRenewed'), 'BookReturned']);
      expect(out.events[0]).toMatchObject({ aggregate: 'Loan', aggregate_id: id });
      // uuids are answered lower-case whatever case they were given in, by either store.
      expect(out.upper.body.entity.memberId).toBe('00000000-0000-4000-8000-0000000000ab');
      expect(out.upperGet).toMatchObject({ status: 200, body: stored });
      if (storage === 'postgres') {
        expect(out.outboxDown).toMatchObject({ status: 500, body: { error: { code: 'INTERNAL', message: 'Internal error' } } });
        expect(out.rowsAfterOutboxDown).toBe(2);
        expect(out.versionColumn).toBe(9);
      }
    });
  });

  it.each(TIME_ZONES)('passes its own generated tests on memory and on PostgreSQL (TZ=%s)', (tz) => {
    const run = spawnSync(process.execPath, ['--test', ...['client', 'lending-loan', 'lending-member', 'service'].map((n) => `dist/test/${n}.test.js`)], {
      cwd: built,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, TZ: tz, DATABASE_URL: database.url },
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('# fail 0');
    expect(run.stdout).toContain('(Lending, postgres)');
    // The IR's requires (returnedOn unset) for ReturnBook and RenewLoan: each has a test that breaks it.
    expect(run.stdout).toContain('ReturnBook refuses (409 PRECONDITION_FAILED) a Loan where returnedOn is set');
    expect(run.stdout).toContain('RenewLoan refuses (409 PRECONDITION_FAILED) a Loan where returnedOn is set');
  });

  it('refuses (400) a create whose required fields no parameter gives, instead of storing zero values', { timeout: 300_000 }, () => {
    const yaml = loadFixture('library');
    yaml['ir/contexts/lending.yaml'] = yaml['ir/contexts/lending.yaml']!.replace(
      /    - name: BorrowBook\n      aggregate: Loan\n      creates: true\n      parameters:\n(        - .*\n)+      emits: .*\n/,
      '    - { name: BorrowBook, aggregate: Loan, creates: true }\n',
    );
    const reading = readModel(yaml);
    expect(reading.valid).toBe(true);
    expect(reading.diagnostics.map((d) => [d.code, d.severity])).toEqual([['COMMAND_MISSING_FIELDS', 'warning']]);
    const dir = build(typescriptHttpGenerator.generate(reading.model, {}), 'ts-library-empty');
    const out = runIn(
      dir,
      `${PRELUDE}
out.res = await post('/lending/loans/commands/BorrowBook', {});
out.stored = await get('/lending/loans');
console.log(JSON.stringify(out));`,
      'UTC',
    );
    expect(out.res.status).toBe(400);
    expect(out.res.body.error.details.map((p: { path: string }) => p.path)).toEqual(['/memberId', '/isbn', '/dueOn']);
    expect(out.stored.body.total).toBe(0);
    // Its generated test says so too, and passes.
    const run = spawnSync(process.execPath, ['--test', 'dist/test/lending-loan.test.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, DATABASE_URL: '' } });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('BorrowBook refuses to create a Loan without memberId, isbn, dueOn');
  });

  it('applies its migrations in order and once, also when two processes start at the same time', async () => {
    const dir = built;
    // A slow first migration: both processes are surely starting while it runs.
    writeFileSync(path.join(dir, 'migrations', '000_slow.sql'), 'SELECT pg_sleep(1);');
    writeFileSync(
      path.join(dir, 'migrate.mjs'),
      `import pg from 'pg';
import { applyMigrations } from './dist/src/migrations.js';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, options: '-c search_path=' + process.env.SCHEMA });
const applied = await applyMigrations(pool);
await pool.end();
console.log(JSON.stringify(applied));`,
    );
    const schema = `m_${process.pid}`;
    await database.db.query(`CREATE SCHEMA ${schema}`);
    const env = { ...process.env, DATABASE_URL: database.url, SCHEMA: schema };
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
      rmSync(path.join(dir, 'migrations', '000_slow.sql'));
      rmSync(path.join(dir, 'migrations', '002_note.sql'));
    }
  });
});
