/**
 * The Go generator proves the plugin boundary: its output vets, is gofmt-clean and passes `go test` offline, with the
 * go sandbox's own toolchain (Debian's Go, what a project's code meets), not whatever Go the host has.
 */
import { chmodSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sandboxImageName } from '../../sandbox-images/names.js';
import { createDockerClient, type Docker } from '../../services/containers/index.js';
import { goHttpGenerator } from '../../services/generators/index.js';
import { readModel, type Model } from '../../services/ir/index.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { removeThrowaways, runInImage } from '../helpers/containers.js';
import { fixtureModel, writeTemp } from './helpers.js';

const LABEL = 'go-http';
let docker: Docker;
const temps: string[] = [];
beforeAll(() => {
  docker = createDockerClient({ socketPath: undefined, host: undefined });
});
afterAll(async () => {
  temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  await removeThrowaways(docker, LABEL);
});

describe('go-http generator', () => {
  const leave = goHttpGenerator.generate(fixtureModel('hr-leave'), {});

  it('writes models and a test per aggregate, deterministically', () => {
    expect(leave.map((f) => f.path)).toEqual([
      'cmd/server/main.go',
      'go.mod',
      'helpers_test.go',
      'leave_balance_model.go',
      'leave_balance_model_test.go',
      'leave_request_model.go',
      'leave_request_model_test.go',
      'runtime.go',
    ]);
    expect(goHttpGenerator.generate(fixtureModel('hr-leave'), {})).toEqual(leave);
  });

  it("states the go sandbox's Go (Debian's 1.19) in go.mod", () => {
    expect(leave.find((f) => f.path === 'go.mod')?.content).toBe('module leave-desk\n\ngo 1.19\n');
  });

  it.each(['hr-leave', 'ecommerce', 'library', 'library with a BorrowBook without parameters'])('the %s service is gofmt-clean, vets and passes go test in the go sandbox', async (name) => {
    const files = goHttpGenerator.generate(name.startsWith('library with') ? emptyBorrowModel() : fixtureModel(name), {});
    // Its generated test expects the create without memberId, isbn and dueOn to be refused with 400.
    if (name.startsWith('library with')) expect(files.find((f) => f.path === 'loan_model_test.go')?.content).toContain('func TestLoanBorrowBookRefused(');
    // Beside the generated tests, ours: impossible dates, IR rules on commands, every event, refused creates, endpoints.
    if (name === 'library') files.push({ path: 'library_extra_test.go', content: LIBRARY_TEST_GO, dependsOn: [] });
    const dir = writeTemp(files, `go-${name}`);
    temps.push(dir);
    chmodSync(dir, 0o755); // the sandbox user (uid 1000) reads it through a read-only mount
    // Offline: no network, no proxy, no toolchain download; a copy to build in, since the mount is read-only.
    const script = [
      'set -e',
      'cp -r /src /tmp/app && cd /tmp/app',
      'unformatted=$(gofmt -l .); if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi',
      'go vet ./...',
      'go test ./...',
    ].join('\n');
    const result = await runInImage(docker, sandboxImageName('go', inject('imageTag')), script, {
      label: LABEL,
      readOnly: [`${dir}:/src`],
      env: ['GOFLAGS=-mod=mod', 'GOPROXY=off', 'GOTOOLCHAIN=local', 'GOPATH=/tmp/go', 'GOCACHE=/tmp/go-cache'],
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/^ok\s/m);
    // The module states go 1.19 and builds with the sandbox's Go as it is (GOTOOLCHAIN=local, no download).
    expect(result.stdout + result.stderr).not.toMatch(/requires go/);
  }, 180_000);
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
	server, _ := start(t, loanAggregate, loanSample)
	borrow := func(isbn, dueOn string) (int, any) {
		return call(t, "POST", server.URL+"/lending/loans/commands/BorrowBook",
			\`{"memberId":"00000000-0000-4000-8000-000000000001","isbn":"\`+isbn+\`","dueOn":"\`+dueOn+\`"}\`)
	}
	for _, day := range []string{"2024-02-30", "2023-02-29", "2024-13-01", "2024-04-31"} {
		if status, body := borrow("978-0-00-000000-2", day); status != 400 || !strings.Contains(canonical(body), "/dueOn") {
			t.Fatalf("%s: status %d: %v", day, status, body)
		}
	}
	status, body := borrow("978-0-00-000000-2", "2024-02-29")
	if status != 201 {
		t.Fatalf("leap day: status %d: %v", status, body)
	}
	events := body.(map[string]any)["events"].([]any)
	if len(events) != 2 || events[0].(map[string]any)["type"] != "BookBorrowed" || events[1].(map[string]any)["type"] != "LoanOpened" {
		t.Fatalf("events %v", events)
	}
	// The entity's pattern holds for the command's parameter of the same name.
	if status, body := borrow("not an isbn", "2024-03-01"); status != 400 || !strings.Contains(canonical(body), "/isbn") {
		t.Fatalf("isbn: status %d: %v", status, body)
	}
	// renewals has max 3 on the entity.
	id := body.(map[string]any)["entity"].(map[string]any)["id"].(string)
	renew := \`{"loanId":"\` + id + \`","dueOn":"2024-04-01","renewals":4}\`
	if status, body := call(t, "POST", server.URL+"/lending/loans/commands/RenewLoan", renew); status != 400 || !strings.Contains(canonical(body), "/renewals") {
		t.Fatalf("renewals: status %d: %v", status, body)
	}
	// Member has no command and still gets its endpoints.
	if status, body := call(t, "GET", server.URL+"/lending/members", ""); status != 200 || canonical(body) != "[]" {
		t.Fatalf("members: status %d: %v", status, body)
	}
	if status, body := call(t, "GET", server.URL+"/lending/members/00000000-0000-4000-8000-000000000009", ""); status != 404 {
		t.Fatalf("member: status %d: %v", status, body)
	}
	if status, body := call(t, "GET", server.URL+"/lending/members/not-a-uuid", ""); status != 400 {
		t.Fatalf("bad member id: status %d: %v", status, body)
	}
}
`;
