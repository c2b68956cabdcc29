/**
 * A generated go-http app on its project's own PostgreSQL, in the real go sandbox: its tests pass with and without
 * DATABASE_URL, it stores in PostgreSQL (migrations applied at the first start, once), keeps what it was given across a
 * restart, and a model change adds a migration that the next start applies to the existing database.
 */
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { APP_PORT as PORT, callApp, generateCode, startApp as startAppProcess, stopApp as stopAppProcess } from '../helpers/app-process.js';
import { exec, sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('gen-go-pg');
const LENDING = 'ir/contexts/lending.yaml';

/** A Go program that runs one statement with lib/pq and DATABASE_URL and prints the rows as JSON (no psql in the image). */
const QUERY_GO = `package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"

	_ "github.com/lib/pq"
)

func main() {
	db, err := sql.Open("postgres", os.Getenv("DATABASE_URL"))
	if err != nil {
		panic(err)
	}
	rows, err := db.Query(os.Args[1])
	if err != nil {
		panic(err)
	}
	columns, _ := rows.Columns()
	out := []map[string]any{}
	for rows.Next() {
		values := make([]any, len(columns))
		pointers := make([]any, len(columns))
		for i := range values {
			pointers[i] = &values[i]
		}
		if err := rows.Scan(pointers...); err != nil {
			panic(err)
		}
		row := map[string]any{}
		for i, c := range columns {
			if b, ok := values[i].([]byte); ok {
				values[i] = string(b)
			}
			row[c] = values[i]
		}
		out = append(out, row)
	}
	text, _ := json.Marshal(out)
	fmt.Println(string(text))
}
`;

const auth = () => ({ token: suite.owner.accessToken });
// Built before each start (the build is cached), so that the process is the server itself.
const startApp = (id: string) => startAppProcess(suite, id, `go build -o .bin/server ./cmd/server && PORT=${PORT} exec ./.bin/server`);
const stopApp = (id: string, pid: string) => stopAppProcess(suite, id, pid);

/** An HTTP request to the app from inside the sandbox: its status, ETag and JSON body. */
async function call(id: string, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) {
  const answer = await callApp(suite, id, method, path, body, headers);
  return { status: answer.status, etag: answer.headers.etag ?? '', body: answer.body };
}

async function query(id: string, sql: string): Promise<unknown> {
  const result = await exec(suite.api, suite.owner, id, ['sh', '-c', 'cd /tmp/vf-query && PGSSLMODE=${PGSSLMODE:-disable} go run . "$0"', sql], { timeoutMs: 120_000 });
  expect(result.exitCode, `${sql}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout);
}

const generate = (id: string) => generateCode(suite, id);

describe('a generated go-http app with the project PostgreSQL', () => {
  it('passes its tests on both stores, stores in PostgreSQL across restarts, and applies a new migration once', { timeout: 600_000 }, async () => {
    const id = await suite.project('go');
    const patched = await suite.api.patch(`/api/v1/projects/${id}`, { ...auth(), body: { services: { postgres: true } } });
    expect(patched.status, patched.text).toBe(200);
    const changes = loadFixture('library');
    changes['ir/project.yaml'] = changes['ir/project.yaml']!.replace('runtime: node', 'runtime: go');
    const written = await suite.api.post(`/api/v1/projects/${id}/ir/changes`, { ...auth(), body: { changes } });
    expect(written.status, written.text).toBe(200);
    const first = await generate(id);
    expect(first.generator).toBe('go-http');
    expect(first.written).toEqual(expect.arrayContaining(['go.mod', 'go.sum', 'postgres_store.go', 'migrations/001_lending.sql', 'openapi.json']));

    // lib/pq comes from the module proxy, checked against the go.sum the generator wrote.
    const vet = await exec(suite.api, suite.owner, id, 'go vet ./... 2>&1', { timeoutMs: 240_000 });
    expect(vet.exitCode, vet.stdout).toBe(0);
    const onMemory = await exec(suite.api, suite.owner, id, 'go test -count=1 -v ./... 2>&1', { timeoutMs: 240_000, env: { DATABASE_URL: '' } });
    expect(onMemory.exitCode, onMemory.stdout).toBe(0);
    expect(onMemory.stdout).toContain('--- PASS: TestLoanBorrowBook/memory');
    expect(onMemory.stdout).not.toContain('/postgres');
    const onPostgres = await exec(suite.api, suite.owner, id, 'go test -count=1 -v ./... 2>&1', { timeoutMs: 240_000 });
    expect(onPostgres.exitCode, onPostgres.stdout).toBe(0);
    expect(onPostgres.stdout).toContain('--- PASS: TestLoanBorrowBook/postgres');
    expect(onPostgres.stdout).toContain('--- PASS: TestLoanRenewLoan/postgres');
    expect(onPostgres.stdout).toContain('--- PASS: TestMigrationsApplyOnceWhenTwoStartTogether');

    // Without DATABASE_URL (the caller's env wins over the service's): the memory store, and it says so.
    const memory = await exec(suite.api, suite.owner, id, 'go build -o .bin/server ./cmd/server && PORT=3001 timeout 3 ./.bin/server 2>&1; true', {
      env: { DATABASE_URL: '' },
      timeoutMs: 120_000,
    });
    expect(memory.stdout).toContain('storage: memory');

    const app = await startApp(id);
    expect(app.output).toContain('storage: postgres postgres:5432/app (migrations applied now: 001_lending.sql)');
    expect((await call(id, 'GET', '/health')).body).toEqual({ status: 'ok', storage: 'postgres' });
    const borrowed = await call(id, 'POST', '/lending/loans/commands/BorrowBook', {
      memberId: '00000000-0000-4000-8000-000000000002',
      isbn: '978-0-00-000000-2',
      dueOn: '2024-03-01',
    });
    expect(borrowed.status, JSON.stringify(borrowed.body)).toBe(201);
    expect(borrowed.etag).toBe('"1"');
    const loan = borrowed.body.entity;
    expect(loan).toMatchObject({ isbn: '978-0-00-000000-2', dueOn: '2024-03-01', renewals: 0 });
    await stopApp(id, app.pid);

    const again = await startApp(id);
    expect(again.output).toContain('storage: postgres postgres:5432/app (migrations applied now: none)');
    expect(await call(id, 'GET', `/lending/loans/${loan.id}`)).toEqual({ status: 200, etag: '"1"', body: loan });
    // A change after the restart updates the stored row; a stale If-Match changes nothing.
    const returned = await call(id, 'POST', '/lending/loans/commands/ReturnBook', { loanId: loan.id, returnedOn: '2024-02-20' }, { 'If-Match': '"1"' });
    expect(returned.status, JSON.stringify(returned.body)).toBe(200);
    expect(returned.etag).toBe('"2"');
    const stale = await call(id, 'POST', '/lending/loans/commands/RenewLoan', { loanId: loan.id, dueOn: '2024-04-01', renewals: 1 }, { 'If-Match': '"1"' });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'VERSION_CONFLICT', details: { expected: 1, actual: 2 } });
    const page = await call(id, 'GET', '/lending/loans?limit=10');
    expect(page.body).toEqual({ items: [{ ...loan, returnedOn: '2024-02-20' }], limit: 10, offset: 0, total: 1 });
    await stopApp(id, again.pid);

    await sh(suite.api, suite.owner, id, `mkdir -p /tmp/vf-query && cp go.sum /tmp/vf-query/ && printf 'module vfquery\\n\\ngo 1.19\\n\\nrequire github.com/lib/pq v1.10.9\\n' > /tmp/vf-query/go.mod && cat > /tmp/vf-query/main.go <<'EOF'\n${QUERY_GO}EOF`);
    expect(await query(id, 'SELECT name FROM schema_migrations ORDER BY name')).toEqual([{ name: '001_lending.sql' }]);
    expect(await query(id, 'SELECT type FROM lending_events ORDER BY seq')).toEqual([{ type: 'BookBorrowed' }, { type: 'LoanOpened' }, { type: 'BookReturned' }]);
    // The generated tests' schemas are gone.
    expect(await query(id, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'test\\_%'")).toEqual([]);

    // The model changes: Loan gets an optional note. The regeneration adds 002, and the next start applies it.
    const lending = changes[LENDING]!.replace(
      '          - { name: returnedOn, type: date, required: false }\n',
      '          - { name: returnedOn, type: date, required: false }\n          - { name: note, type: string, required: false }\n',
    );
    expect(lending).not.toBe(changes[LENDING]);
    const changed = await suite.api.post(`/api/v1/projects/${id}/ir/changes`, { ...auth(), body: { changes: { [LENDING]: lending } } });
    expect(changed.status, changed.text).toBe(200);
    const second = await generate(id);
    expect(second.written).toEqual(expect.arrayContaining(['migrations/002_add_lending_loans_note.sql', 'loan_model.go']));
    expect(second.written).not.toContain('migrations/001_lending.sql');
    const evolved = await startApp(id);
    expect(evolved.output).toContain('storage: postgres postgres:5432/app (migrations applied now: 002_add_lending_loans_note.sql)');
    expect(await call(id, 'GET', `/lending/loans/${loan.id}`)).toEqual({ status: 200, etag: '"2"', body: { ...loan, returnedOn: '2024-02-20' } });
    await stopApp(id, evolved.pid);
    expect(await query(id, 'SELECT name FROM schema_migrations ORDER BY name')).toEqual([{ name: '001_lending.sql' }, { name: '002_add_lending_loans_note.sql' }]);
    expect(await query(id, "SELECT column_name FROM information_schema.columns WHERE table_name = 'lending_loans' AND column_name = 'note'")).toEqual([{ column_name: 'note' }]);
  });
});
