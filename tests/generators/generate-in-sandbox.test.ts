/**
 * The proof: a project's IR becomes code in its real sandbox, that code's own tests pass there, and
 * regenerating keeps a hand edit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { createProject, exec, sh } from '../helpers/sandbox.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
const projects: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'gen');
});
afterAll(async () => {
  for (const id of projects) await t.services.sandboxes.destroy(id).catch(() => {});
  await t?.close();
});

async function projectWithIr(stack: 'node' | 'go', fixture: string): Promise<string> {
  const id = await createProject(api, owner, stack);
  projects.push(id);
  const changes = loadFixture(fixture);
  changes['ir/project.yaml'] = changes['ir/project.yaml']!.replace(/runtime: \w+/, `runtime: ${stack}`).replace(/, framework: \w+/, '');
  const written = await api.post(`/api/v1/projects/${id}/ir/changes`, { token: owner.accessToken, body: { changes } });
  expect(written.status, written.text).toBe(200);
  return id;
}

async function generate(id: string, body: Record<string, unknown> = {}) {
  const response = await api.post(`/api/v1/projects/${id}/generate`, { token: owner.accessToken, body });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

describe('generation into a real sandbox', () => {
  it('generates a TypeScript HTTP service whose own tests pass in the node sandbox, and keeps hand edits', { timeout: 180_000 }, async () => {
    const id = await projectWithIr('node', 'hr-leave');
    const first = await generate(id);
    expect(first.generator).toBe('typescript-http');
    expect(first.written).toEqual(expect.arrayContaining(['package.json', 'openapi.json', 'src/server.js']));
    expect(first.conflicts).toEqual([]);
    const tests = await exec(api, owner, id, 'npm test 2>&1', { timeoutMs: 120_000 });
    expect(tests.exitCode, tests.stdout).toBe(0);
    expect(tests.stdout).toMatch(/# pass \d+/);
    expect(tests.stdout).toContain('# fail 0');

    // Someone edits a generated file and adds one of their own; then the model changes.
    const domain = 'src/domain/leave/leave-request.js';
    await sh(api, owner, id, `echo "// my tweak" >> src/server.js && echo "// mine too" >> ${domain} && echo "mine" > NOTES.md`);
    // The model did not change, so the edited file's generated output did not either: no conflict, nothing written.
    const same = await generate(id);
    expect(same.written).toEqual([]);
    expect(same.conflicts).toEqual([]);
    expect(same.kept).toEqual([domain, 'src/server.js']);
    const ir = await api.get(`/api/v1/projects/${id}/ir`, { token: owner.accessToken });
    const leave = ir.body.files.find((f: string) => f.endsWith('leave.yaml'));
    const text = (await exec(api, owner, id, ['cat', leave])).stdout;
    const changed = text.replace('- { name: days, type: decimal', '- { name: halfDay, type: bool, required: false }\n          - { name: days, type: decimal');
    expect((await api.post(`/api/v1/projects/${id}/ir/changes`, { token: owner.accessToken, body: { changes: { [leave]: changed } } })).status).toBe(200);
    const again = await generate(id);
    // The leave request's module changed under the edit: a conflict; server.js (the same list of aggregates) did not.
    expect(again.conflicts).toEqual([{ path: domain, besidePath: `${domain}.generated`, reason: 'edited' }]);
    expect(again.kept).toEqual(['src/server.js']);
    expect(await sh(api, owner, id, `tail -n 1 ${domain}`)).toBe('// mine too');
    expect(again.written.length).toBeGreaterThan(0);
    expect(again.written).not.toContain('NOTES.md');
    expect(await sh(api, owner, id, 'tail -n 1 src/server.js')).toBe('// my tweak');
    expect(await sh(api, owner, id, 'cat NOTES.md')).toBe('mine');
    expect(await sh(api, owner, id, 'grep -c halfDay openapi.json')).not.toBe('0');
  });

  it('generates a Go service whose own tests pass in the go sandbox (a second stack through the same plugin boundary)', { timeout: 300_000 }, async () => {
    const id = await projectWithIr('go', 'ecommerce');
    const report = await generate(id);
    expect(report.generator).toBe('go-http');
    expect(report.written).toEqual(expect.arrayContaining(['go.mod', 'go.sum', 'migrations/001_order.sql', 'openapi.json']));
    // lib/pq comes from the module proxy, checked against the generated go.sum; the tests run on the memory store.
    const tests = await exec(api, owner, id, 'go vet ./... && go test ./... 2>&1', { timeoutMs: 240_000 });
    expect(tests.exitCode, tests.stdout).toBe(0);
    expect(tests.stdout).toMatch(/^ok\s/m);
  });

  it('adds a migration for a model change, and refuses one that loses data (DESTRUCTIVE_CHANGE, nothing written) unless allowed', { timeout: 120_000 }, async () => {
    const id = await projectWithIr('node', 'hr-leave');
    await generate(id);
    const listing = () => sh(api, owner, id, 'ls migrations && sha256sum migrations/*.sql');
    const first = await listing();
    const ir = await api.get(`/api/v1/projects/${id}/ir`, { token: owner.accessToken });
    const leave = ir.body.files.find((f: string) => f.endsWith('leave.yaml'));
    const original = (await exec(api, owner, id, ['cat', leave])).stdout;
    const change = async (text: string) =>
      expect((await api.post(`/api/v1/projects/${id}/ir/changes`, { token: owner.accessToken, body: { changes: { [leave]: text } } })).status).toBe(200);
    await change(original.replace('- { name: days, type: decimal', '- { name: halfDay, type: bool, required: false }\n          - { name: days, type: decimal'));
    const added = await generate(id);
    const second = added.written.filter((p: string) => /^migrations\/002_/.test(p));
    expect(second).toHaveLength(1);
    expect(await sh(api, owner, id, `cat ${second[0]}`)).toContain('ADD COLUMN IF NOT EXISTS "half_day" BOOLEAN;');
    // The first migration is byte for byte what it was.
    expect((await listing()).split('\n').filter((line) => line.includes('001_'))).toEqual(first.split('\n').filter((line) => line.includes('001_')));
    expect((await generate(id)).written).toEqual([]);

    await change(original);
    const before = await listing();
    const refused = await api.post(`/api/v1/projects/${id}/generate`, { token: owner.accessToken, body: {} });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error.code).toBe('DESTRUCTIVE_CHANGE');
    expect(refused.body.error.details.changes).toEqual([expect.objectContaining({ change: 'drop-column', column: 'half_day' })]);
    expect(await listing()).toBe(before);
    const allowed = await generate(id, { allowDestructive: true });
    const third = allowed.written.filter((p: string) => /^migrations\/003_/.test(p));
    expect(third).toEqual([expect.stringMatching(/^migrations\/003_drop_\w+_half_day\.sql$/)]);
  });

  it('refuses to generate from an invalid IR, naming the problems', async () => {
    const id = await createProject(api, owner);
    projects.push(id);
    const response = await api.post(`/api/v1/projects/${id}/generate`, { token: owner.accessToken, body: {} });
    expect(response.status).toBe(422);
    expect(response.body.error.details.diagnostics.length).toBeGreaterThan(0);
  });
});
