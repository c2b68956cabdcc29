/**
 * The Go generator follows HTTP-CONTRACT.md on the standard library and lib/pq: its output vets, is gofmt-clean and
 * passes `go test` with the go sandbox's own toolchain (Debian's Go 1.19, what a project's code meets), fetching lib/pq
 * from a module proxy that is a directory (no network in the container), checked against the go.sum it emits.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureGo } from '../../infra/lib/prereqs.mjs';
import { repoRoot } from '../../lib/config.js';
import { sandboxImageName } from '../../sandbox-images/names.js';
import { createDockerClient, type Docker } from '../../services/containers/index.js';
import { goHttpGenerator } from '../../services/generators/index.js';
import { readModel, type Model } from '../../services/ir/index.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { removeThrowaways, runInImage } from '../helpers/containers.js';
import { fixtureModel, writeTemp } from './helpers.js';

const LABEL = 'go-http';
let docker: Docker;
/** lib/pq's module files as the host's Go downloaded them: a GOPROXY=file:// directory for the offline containers. */
let moduleProxy: string;
const temps: string[] = [];
beforeAll(() => {
  docker = createDockerClient({ socketPath: undefined, host: undefined });
  const cache = path.join(repoRoot, '.data', 'go-http-modules');
  moduleProxy = path.join(cache, 'cache', 'download');
  if (!existsSync(path.join(moduleProxy, 'github.com', 'lib', 'pq', '@v', 'v1.10.9.zip'))) {
    mkdirSync(cache, { recursive: true });
    const download = spawnSync(process.env.VF_GO_BIN ?? ensureGo(), ['mod', 'download', 'github.com/lib/pq@v1.10.9'], {
      encoding: 'utf8',
      env: { ...process.env, GOMODCACHE: cache, GOFLAGS: '-modcacherw', GOTOOLCHAIN: 'local' },
      timeout: 120_000,
    });
    expect(download.status, download.stderr).toBe(0);
  }
  chmodSync(cache, 0o755);
}, 150_000);
afterAll(async () => {
  temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  await removeThrowaways(docker, LABEL);
});

describe('go-http generator', () => {
  const leave = goHttpGenerator.generate(fixtureModel('hr-leave'), {});

  it('writes the engine, both stores, migrations, openapi.json, and a model and a test per aggregate, deterministically', () => {
    expect(leave.map((f) => f.path)).toEqual([
      'cmd/server/main.go',
      'engine.go',
      'go.mod',
      'go.sum',
      'helpers_test.go',
      'http.go',
      'http_test.go',
      'leave_balance_model.go',
      'leave_balance_model_test.go',
      'leave_request_model.go',
      'leave_request_model_test.go',
      'memory_store.go',
      'migrations/001_leave.sql',
      'migrations/schema.json',
      'openapi.json',
      'postgres_store.go',
      'runtime.go',
    ]);
    expect(goHttpGenerator.generate(fixtureModel('hr-leave'), {})).toEqual(leave);
  });

  it("states the go sandbox's Go (Debian's 1.19) and lib/pq, with its go.sum lines, in go.mod", () => {
    expect(leave.find((f) => f.path === 'go.mod')?.content).toBe('module leave-desk\n\ngo 1.19\n\nrequire github.com/lib/pq v1.10.9\n');
    expect(leave.find((f) => f.path === 'go.sum')?.content).toMatch(/^github\.com\/lib\/pq v1\.10\.9 h1:.+\ngithub\.com\/lib\/pq v1\.10\.9\/go\.mod h1:.+\n$/);
  });

  it('describes the contract in openapi.json: health, pages, versions, If-Match and 409s', () => {
    const doc = JSON.parse(goHttpGenerator.generate(fixtureModel('library'), {}).find((f) => f.path === 'openapi.json')!.content);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/health'].get.responses['200']).toBeDefined();
    const schema = (ref: string) => doc.components.schemas[ref.replace('#/components/schemas/', '')];
    expect(schema(doc.paths['/lending/loans'].get.responses['200'].content['application/json'].schema.$ref).required).toEqual(['items', 'limit', 'offset', 'total']);
    const borrow = doc.paths['/lending/loans/commands/BorrowBook'].post;
    expect(Object.keys(borrow.responses['201'].headers)).toEqual(['ETag', 'Location']);
    const renew = doc.paths['/lending/loans/commands/RenewLoan'].post;
    expect(renew.parameters).toEqual([expect.objectContaining({ name: 'If-Match', in: 'header' })]);
    expect(Object.keys(renew.responses)).toEqual(['200', '400', '404', '409', '413']);
    const list = doc.paths['/lending/loans/queries/ListMemberLoans'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(['memberId', 'limit', 'offset']);
    expect(doc.paths['/lending/loans/{id}'].get.responses['200'].headers.ETag).toBeDefined();
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const name of refs) expect(doc.components.schemas[name], name).toBeDefined();
  });

  it('evolves its migrations: a new optional field adds 002, 001 stays byte for byte', () => {
    const first = goHttpGenerator.generate(fixtureModel('library'), {});
    const files = loadFixture('library');
    files['ir/contexts/lending.yaml'] = files['ir/contexts/lending.yaml']!.replace(
      '          - { name: returnedOn, type: date, required: false }\n',
      '          - { name: returnedOn, type: date, required: false }\n          - { name: note, type: string, required: false }\n',
    );
    const next = goHttpGenerator.generate(readModel(files).model, {});
    const current = new Map(first.map((f) => [f.path, f.content] as const));
    const evolved = goHttpGenerator.evolve!(next, current, { allowDestructive: false });
    const migrations = evolved.filter((f) => f.path.endsWith('.sql'));
    expect(migrations.map((f) => f.path)).toEqual(['migrations/001_lending.sql', 'migrations/002_add_lending_loans_note.sql']);
    expect(migrations[0]!.content).toBe(current.get('migrations/001_lending.sql'));
    expect(migrations[1]!.content).toContain('ALTER TABLE "lending_loans" ADD COLUMN IF NOT EXISTS "note" TEXT;');
  });

  it.each(['hr-leave', 'ecommerce', 'library', 'library with a BorrowBook without parameters'])('the %s service is gofmt-clean, vets and passes go test in the go sandbox', async (name) => {
    const files = goHttpGenerator.generate(name.startsWith('library with') ? emptyBorrowModel() : fixtureModel(name), {});
    // Its generated test expects the create without memberId, isbn and dueOn to be refused with 400.
    if (name.startsWith('library with')) expect(files.find((f) => f.path === 'loan_model_test.go')?.content).toContain('func TestLoanBorrowBookRefused(');
    // Beside the generated tests, ours: impossible dates, IR rules on commands, every event, preconditions, endpoints.
    if (name === 'library') files.push({ path: 'library_extra_test.go', content: LIBRARY_TEST_GO, dependsOn: [] });
    const dir = writeTemp(files, `go-${name}`);
    temps.push(dir);
    chmodSync(dir, 0o755); // the sandbox user (uid 1000) reads it through a read-only mount
    // Offline: no network; lib/pq from a directory, checked against go.sum (-mod=readonly, no checksum database).
    const script = [
      'set -e',
      'cp -r /src /tmp/app && cd /tmp/app',
      'unformatted=$(gofmt -l .); if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi',
      'go vet ./...',
      'go test ./...',
      'go build -o /tmp/server ./cmd/server',
    ].join('\n');
    const result = await runInImage(docker, sandboxImageName('go', inject('imageTag')), script, {
      label: LABEL,
      readOnly: [`${dir}:/src`, `${moduleProxy}:/goproxy`],
      env: ['GOFLAGS=-mod=readonly', 'GOPROXY=file:///goproxy', 'GOSUMDB=off', 'GOTOOLCHAIN=local', 'GOPATH=/tmp/go', 'GOMODCACHE=/tmp/go/pkg/mod', 'GOCACHE=/tmp/go-cache'],
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/^ok\s/m);
    // The module states go 1.19 and builds with the sandbox's Go as it is (GOTOOLCHAIN=local, no download).
    expect(result.stdout + result.stderr).not.toMatch(/requires go/);
  }, 240_000);
});

/** The library model with BorrowBook stripped of its parameters: valid, with a COMMAND_MISSING_FIELDS warning. */
function emptyBorrowModel(): Model {
  const files = loadFixture('library');
  files['ir/contexts/lending.yaml'] = files['ir/contexts/lending.yaml']!.replace(
    /    - name: BorrowBook\n      aggregate: Loan\n      creates: true\n      parameters:\n(        - .*\n)+      emits: .*\n/,
    '    - { name: BorrowBook, aggregate: Loan, creates: true }\n',
  );
  const reading = readModel(files);
  expect(reading.diagnostics.map((d) => d.code)).toEqual(['COMMAND_MISSING_FIELDS']);
  return reading.model;
}

const LIBRARY_TEST_GO = `package app

import (
	"strings"
	"testing"
)

func TestLibraryDatesRulesEventsAndEndpoints(t *testing.T) {
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, loanAggregate, loanSample)
		borrow := func(isbn, dueOn string) answer {
			return call(t, "POST", server.URL+"/lending/loans/commands/BorrowBook",
				\`{"memberId":"00000000-0000-4000-8000-000000000001","isbn":"\`+isbn+\`","dueOn":"\`+dueOn+\`"}\`)
		}
		for _, day := range []string{"2024-02-30", "2023-02-29", "2024-13-01", "2024-04-31"} {
			if got := borrow("978-0-00-000000-2", day); got.status != 400 || !strings.Contains(canonical(got.body), "/dueOn") {
				t.Fatalf("%s: %v", day, got)
			}
		}
		got := borrow("978-0-00-000000-2", "2024-02-29")
		if got.status != 201 {
			t.Fatalf("leap day: %v", got)
		}
		result := got.body.(map[string]any)
		if !eventTypes(result, \`["BookBorrowed","LoanOpened"]\`) || result["entity"].(map[string]any)["dueOn"] != "2024-02-29" {
			t.Fatalf("result %v", result)
		}
		// The entity's pattern holds for the command's parameter of the same name.
		if got := borrow("not an isbn", "2024-03-01"); got.status != 400 || !strings.Contains(canonical(got.body), "/isbn") {
			t.Fatalf("isbn: %v", got)
		}
		// renewals has max 3 on the entity.
		id := result["entity"].(map[string]any)["id"].(string)
		renew := \`{"loanId":"\` + id + \`","dueOn":"2024-04-01","renewals":4}\`
		if got := call(t, "POST", server.URL+"/lending/loans/commands/RenewLoan", renew); got.status != 400 || !strings.Contains(canonical(got.body), "/renewals") {
			t.Fatalf("renewals: %v", got)
		}
		// Pages in identifier order: the sample's id sorts first.
		page := call(t, "GET", server.URL+"/lending/loans?limit=1&offset=1", "")
		if items := page.body.(map[string]any)["items"].([]any); page.status != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != id || page.body.(map[string]any)["total"] != 2.0 {
			t.Fatalf("page: %v", page)
		}
		// Member has no command and still gets its endpoints.
		if got := call(t, "GET", server.URL+"/lending/members", ""); got.status != 200 || canonical(got.body) != \`{"items":[],"limit":100,"offset":0,"total":0}\` {
			t.Fatalf("members: %v", got)
		}
		if got := call(t, "GET", server.URL+"/lending/members/00000000-0000-4000-8000-000000000009", ""); got.status != 404 || got.errorCode() != "NOT_FOUND" {
			t.Fatalf("member: %v", got)
		}
		if got := call(t, "GET", server.URL+"/lending/members/not-a-uuid", ""); got.status != 400 || got.errorCode() != "VALIDATION_FAILED" {
			t.Fatalf("bad member id: %v", got)
		}
	})
}

// ReturnBook with the precondition the IR will declare: a returned loan is not returned again, and nothing changes.
func TestLibraryPreconditionRefusesAndChangesNothing(t *testing.T) {
	spec := loanAggregate.Commands["ReturnBook"]
	declared := spec
	declared.Preconditions = []map[string]any{{"field": "returnedOn", "is": "unset"}}
	loanAggregate.Commands["ReturnBook"] = declared
	t.Cleanup(func() { loanAggregate.Commands["ReturnBook"] = spec })
	eachStore(t, func(t *testing.T, store Store) {
		server := serve(t, store, loanAggregate, \`{"id":"00000000-0000-4000-8000-000000000001","memberId":"00000000-0000-4000-8000-000000000002","isbn":"978-0-00-000000-2","dueOn":"2024-03-01","renewals":0}\`)
		body := \`{"loanId":"00000000-0000-4000-8000-000000000001","returnedOn":"2024-02-20"}\`
		if got := call(t, "POST", server.URL+"/lending/loans/commands/ReturnBook", body); got.status != 200 {
			t.Fatalf("first return: %v", got)
		}
		got := call(t, "POST", server.URL+"/lending/loans/commands/ReturnBook", \`{"loanId":"00000000-0000-4000-8000-000000000001","returnedOn":"2024-02-21"}\`)
		if got.status != 409 || got.errorCode() != "PRECONDITION_FAILED" || !strings.Contains(canonical(got.body), \`"details":{"field":"returnedOn","is":"unset"}\`) {
			t.Fatalf("second return: %v", got)
		}
		read := call(t, "GET", server.URL+"/lending/loans/00000000-0000-4000-8000-000000000001", "")
		if read.header.Get("ETag") != \`"2"\` || read.body.(map[string]any)["returnedOn"] != "2024-02-20" {
			t.Fatalf("after the refusal: %v", read)
		}
	})
}
`;
