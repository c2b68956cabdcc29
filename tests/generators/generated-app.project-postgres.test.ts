/**
 * A generated typescript-http app on its project's own PostgreSQL, in the real sandbox: with the service turned on
 * it stores in PostgreSQL (its migrations applied at the first start, once), so what it was given is still there
 * after the app restarts; without DATABASE_URL it says it runs on the memory store.
 */
import { describe, expect, it } from 'vitest';
import { APP_PORT as PORT, callApp, startApp as startAppProcess, stopApp as stopAppProcess } from '../helpers/app-process.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { exec, sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('gen-pg');

/** Runs one statement with the app's own pg and DATABASE_URL; the rows. */
const QUERY_SCRIPT = `
const { Client } = require('pg');
const client = new Client({ connectionString: process.env.DATABASE_URL });
client.connect()
  .then(() => client.query(process.argv[1]))
  .then((result) => { console.log(JSON.stringify(result.rows)); return client.end(); })
  .catch((err) => { console.error(err.message); process.exit(1); });
`;

const auth = () => ({ token: suite.owner.accessToken });
const startApp = (id: string) => startAppProcess(suite, id, `PORT=${PORT} node src/main.js`);
const stopApp = (id: string, pid: string) => stopAppProcess(suite, id, pid);
const call = (id: string, method: 'GET' | 'POST', path: string, body?: unknown) => callApp(suite, id, method, path, body);

async function query(id: string, sql: string): Promise<unknown> {
  const result = await exec(suite.api, suite.owner, id, ['node', '-e', QUERY_SCRIPT, sql], { timeoutMs: 30_000 });
  expect(result.exitCode, `${sql}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout);
}

describe('a generated typescript-http app with the project PostgreSQL', () => {
  it('stores in PostgreSQL: what it was given survives its restart; its migration is applied once', { timeout: 360_000 }, async () => {
    const id = await suite.project('node');
    const patched = await suite.api.patch(`/api/v1/projects/${id}`, { ...auth(), body: { services: { postgres: true } } });
    expect(patched.status, patched.text).toBe(200);
    const written = await suite.api.post(`/api/v1/projects/${id}/ir/changes`, { ...auth(), body: { changes: loadFixture('library') } });
    expect(written.status, written.text).toBe(200);
    const generated = await suite.api.post(`/api/v1/projects/${id}/generate`, { ...auth(), body: {} });
    expect(generated.status, generated.text).toBe(200);
    expect(generated.body.generator).toBe('typescript-http');
    expect(generated.body.written).toEqual(expect.arrayContaining(['src/main.js', 'src/migrations.js', 'migrations/001_lending.sql']));

    const install = await exec(suite.api, suite.owner, id, 'npm install --no-audit --no-fund 2>&1', { timeoutMs: 180_000 });
    expect(install.exitCode, install.stdout).toBe(0);

    // Without DATABASE_URL (the caller's env wins over the service's): the memory store, and it says so.
    const memory = await exec(suite.api, suite.owner, id, `PORT=3001 timeout 3 node src/main.js; true`, { env: { DATABASE_URL: '' } });
    expect(memory.stdout).toContain('storage: memory');

    const first = await startApp(id);
    expect(first.output).toContain('storage: postgres postgres:5432/app (migrations applied now: 001_lending.sql)');
    const borrowed = await call(id, 'POST', '/lending/loans/commands/BorrowBook', {
      memberId: '00000000-0000-4000-8000-000000000002',
      isbn: '978-0-00-000000-2',
      dueOn: '2024-03-01',
    });
    expect(borrowed.status, JSON.stringify(borrowed.body)).toBe(201);
    const loan = borrowed.body.entity;
    expect(loan).toMatchObject({ isbn: '978-0-00-000000-2', dueOn: '2024-03-01' });
    await stopApp(id, first.pid);

    const second = await startApp(id);
    expect(second.output).toContain('storage: postgres postgres:5432/app (migrations applied now: none)');
    const read = await call(id, 'GET', `/lending/loans/${loan.id}`);
    expect([read.status, read.body]).toEqual([200, loan]);
    // A change after the restart updates the stored row.
    const returned = await call(id, 'POST', '/lending/loans/commands/ReturnBook', { loanId: loan.id, returnedOn: '2024-02-20' });
    expect(returned.status, JSON.stringify(returned.body)).toBe(200);
    expect((await call(id, 'GET', '/lending/loans')).body).toEqual([{ ...loan, returnedOn: '2024-02-20' }]);
    await stopApp(id, second.pid);

    expect(await query(id, 'SELECT name FROM schema_migrations ORDER BY name')).toEqual([{ name: '001_lending.sql' }]);
    expect(await query(id, 'SELECT count(*)::int AS n FROM lending_loans')).toEqual([{ n: 1 }]);
    expect(await sh(suite.api, suite.owner, id, 'ls node_modules/pg/package.json')).toBe('node_modules/pg/package.json');
  });
});
