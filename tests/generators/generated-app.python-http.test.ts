/**
 * A generated python-http app in the real python sandbox, on its project's own PostgreSQL: generated through the API
 * (the default for a python stack), installed from PyPI into a venv, its own pytest suite green with and without
 * DATABASE_URL, run as a managed process (`python -m app`) that keeps the HTTP contract, keeps its data across a
 * restart and applies each migration once; a model change adds a 002_ migration that applies on the existing database.
 */
import { describe, expect, it } from 'vitest';
import { callApp, generateCode, startApp, stopApp } from '../helpers/app-process.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { exec, sandboxSuite } from '../helpers/sandbox.js';

const suite = sandboxSuite('gen-py');
const auth = () => ({ token: suite.owner.accessToken });

/** Runs one statement with the app's own psycopg and DATABASE_URL; the rows as objects. */
const QUERY_SCRIPT = `
import json, os, sys
import psycopg
from psycopg.rows import dict_row
with psycopg.connect(os.environ["DATABASE_URL"], row_factory=dict_row) as conn:
    print(json.dumps(conn.execute(sys.argv[1]).fetchall(), default=str))
`;

async function query(id: string, sql: string): Promise<unknown> {
  const result = await exec(suite.api, suite.owner, id, ['.venv/bin/python', '-c', QUERY_SCRIPT, sql], { timeoutMs: 30_000 });
  expect(result.exitCode, `${sql}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout);
}

const generate = (id: string) => generateCode(suite, id);

async function pytest(id: string, env: Record<string, string> = {}): Promise<string> {
  const result = await exec(suite.api, suite.owner, id, '.venv/bin/pytest -q 2>&1', { timeoutMs: 240_000, env });
  expect(result.exitCode, result.stdout).toBe(0);
  expect(result.stdout).toMatch(/\d+ passed/);
  expect(result.stdout).not.toMatch(/\d+ (failed|errors?)\b/);
  return result.stdout;
}

const call = (id: string, method: 'GET' | 'POST', path: string, body?: unknown, headers?: Record<string, string>) => callApp(suite, id, method, path, body, headers);
const APP = '.venv/bin/python -m app';

describe('a generated python-http app in the python sandbox with the project PostgreSQL', () => {
  it('passes its own tests on both stores, keeps the contract and its data across restarts, and migrates on a model change', { timeout: 900_000 }, async () => {
    const id = await suite.project('python');
    const patched = await suite.api.patch(`/api/v1/projects/${id}`, { ...auth(), body: { services: { postgres: true } } });
    expect(patched.status, patched.text).toBe(200);
    const ir = loadFixture('library');
    ir['ir/project.yaml'] = ir['ir/project.yaml']!.replace('runtime: node', 'runtime: python');
    const written = await suite.api.post(`/api/v1/projects/${id}/ir/changes`, { ...auth(), body: { changes: ir } });
    expect(written.status, written.text).toBe(200);
    const first = await generate(id);
    expect(first.generator).toBe('python-http');
    expect(first.written).toEqual(expect.arrayContaining(['requirements.txt', 'app/__main__.py', 'app/main.py', 'migrations/001_lending.sql', 'tests/test_loan.py']));

    const install = await exec(suite.api, suite.owner, id, 'python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt 2>&1', { timeoutMs: 480_000 });
    expect(install.exitCode, install.stdout).toBe(0);

    // Its own tests: on the memory store, then on PostgreSQL (a schema of their own per test).
    await pytest(id, { DATABASE_URL: '' });
    await pytest(id);

    // Without DATABASE_URL (the caller's env wins over the service's): the memory store, and it says so.
    const memory = await exec(suite.api, suite.owner, id, `PORT=3001 timeout 5 ${APP}; true`, { env: { DATABASE_URL: '' }, timeoutMs: 30_000 });
    expect(memory.stdout).toContain('storage: memory');

    const one = await startApp(suite, id, APP);
    expect(one.output).toContain('storage: postgres postgres:5432/app (migrations applied now: 001_lending.sql)');
    expect(await call(id, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok', storage: 'postgres' } });
    const borrowed = await call(id, 'POST', '/lending/loans/commands/BorrowBook', {
      memberId: '00000000-0000-4000-8000-00000000000A',
      isbn: '978-0-00-000000-2',
      dueOn: '2024-03-01',
    });
    expect(borrowed.status, JSON.stringify(borrowed.body)).toBe(201);
    const loan = borrowed.body.entity;
    expect(loan).toEqual({ id: loan.id, memberId: '00000000-0000-4000-8000-00000000000a', isbn: '978-0-00-000000-2', dueOn: '2024-03-01', renewals: 0 });
    expect(borrowed.body.version).toBe(1);
    expect(borrowed.body.events.map((e: { type: string }) => e.type)).toEqual(['BookBorrowed', 'LoanOpened']);
    expect(borrowed.headers.etag).toBe('"1"');
    expect(borrowed.headers.location).toBe(`/lending/loans/${loan.id}`);
    // The contract's refusals, each in our error body.
    const refused = await call(id, 'POST', '/lending/loans/commands/BorrowBook', { memberId: loan.memberId, isbn: '978-0-00-000000-2', dueOn: '2024-02-30', extra: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
    expect(refused.body.error.details.map((p: { path: string }) => p.path)).toEqual(['/dueOn', '/extra']);
    expect((await call(id, 'GET', '/nowhere')).body.error.code).toBe('ROUTE_NOT_FOUND');
    const stale = await call(id, 'POST', '/lending/loans/commands/ReturnBook', { loanId: loan.id, returnedOn: '2024-02-20' }, { 'If-Match': '"7"' });
    expect(stale).toMatchObject({ status: 409, body: { error: { code: 'VERSION_CONFLICT', details: { expected: 7, actual: 1 } } } });
    const openapi = await call(id, 'GET', '/openapi.json');
    expect(Object.keys(openapi.body.paths)).toEqual(expect.arrayContaining(['/lending/loans', '/lending/loans/{id}', '/lending/loans/commands/BorrowBook']));
    await stopApp(suite, id, one.pid);

    const two = await startApp(suite, id, APP);
    expect(two.output).toContain('storage: postgres postgres:5432/app (migrations applied now: none)');
    const read = await call(id, 'GET', `/lending/loans/${loan.id}`);
    expect([read.status, read.body, read.headers.etag]).toEqual([200, loan, '"1"']);
    const returned = await call(id, 'POST', '/lending/loans/commands/ReturnBook', { loanId: loan.id, returnedOn: '2024-02-20' }, { 'If-Match': '"1"' });
    expect(returned.status, JSON.stringify(returned.body)).toBe(200);
    expect([returned.body.version, returned.headers.etag]).toEqual([2, '"2"']);
    expect((await call(id, 'GET', '/lending/loans?limit=5')).body).toEqual({ items: [{ ...loan, returnedOn: '2024-02-20' }], limit: 5, offset: 0, total: 1 });
    await stopApp(suite, id, two.pid);

    expect(await query(id, 'SELECT name FROM schema_migrations ORDER BY name')).toEqual([{ name: '001_lending.sql' }]);
    expect(await query(id, 'SELECT count(*)::int AS n, max(_version) AS v FROM lending_loans')).toEqual([{ n: 1, v: 2 }]);
    expect(await query(id, 'SELECT type FROM lending_events ORDER BY seq')).toEqual([{ type: 'BookBorrowed' }, { type: 'LoanOpened' }, { type: 'BookReturned' }]);

    // The model changes: Loan gains an optional field. One new migration, applied once on the existing database.
    const lending = ir['ir/contexts/lending.yaml']!.replace(
      '          - { name: returnedOn, type: date, required: false }\n',
      '          - { name: returnedOn, type: date, required: false }\n          - { name: note, type: string, required: false, validation: { max_length: 200 } }\n',
    );
    expect(lending).toContain('name: note');
    const changed = await suite.api.post(`/api/v1/projects/${id}/ir/changes`, { ...auth(), body: { changes: { 'ir/contexts/lending.yaml': lending } } });
    expect(changed.status, changed.text).toBe(200);
    const second = await generate(id);
    expect(second.written).toEqual(expect.arrayContaining(['migrations/002_add_lending_loans_note.sql', 'app/lending/loan.py', 'tests/test_loan.py']));
    expect(second.written).not.toContain('migrations/001_lending.sql');
    expect(second.written).not.toContain('app/lending/member.py');

    const three = await startApp(suite, id, APP);
    expect(three.output).toContain('storage: postgres postgres:5432/app (migrations applied now: 002_add_lending_loans_note.sql)');
    expect((await call(id, 'GET', `/lending/loans/${loan.id}`)).body).toEqual({ ...loan, returnedOn: '2024-02-20' });
    // The IR requires a loan not yet returned: renewing this one is refused, and changes nothing.
    const renewed = await call(id, 'POST', '/lending/loans/commands/RenewLoan', { loanId: loan.id, dueOn: '2024-04-01', renewals: 1 });
    expect(renewed).toMatchObject({ status: 409, body: { error: { code: 'PRECONDITION_FAILED', details: { field: 'returnedOn', is: 'unset' } } } });
    await stopApp(suite, id, three.pid);
    expect(await query(id, 'SELECT name FROM schema_migrations ORDER BY name')).toEqual([{ name: '001_lending.sql' }, { name: '002_add_lending_loans_note.sql' }]);
    expect(await query(id, "SELECT column_name FROM information_schema.columns WHERE table_name = 'lending_loans' AND column_name = 'note'")).toEqual([{ column_name: 'note' }]);
    // The regenerated tests hold on the migrated schema too, with the process and the session 14 hours ahead of UTC.
    await pytest(id, { TZ: 'Pacific/Kiritimati', PGTZ: 'Pacific/Kiritimati' });
  });
});
