/**
 * The IR over HTTP against hostile input and races: `ir/changes` is all or nothing under one per-project
 * lock (concurrent changes never leave an invalid model; a failing change writes nothing), and alias bombs,
 * unsafe patterns and huge rules are diagnostics or 4xx answers, never a 500, wherever they come from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { PROJECT_YAML, withoutInfo } from '../helpers/ir-fixtures.js';
import type { Diagnostic } from '../../services/ir/index.js';
import { createProject } from '../helpers/sandbox.js';
import { aliasFlood, billionLaughs, withRules } from '../fixtures/ir-hostile.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'ir-hard');
  projectId = await createProject(api, owner);
  const base = await change({ 'ir/project.yaml': PROJECT_YAML });
  expect(base.status, base.text).toBe(200);
});
afterAll(async () => {
  await t?.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

const irUrl = () => `/api/v1/projects/${projectId}/ir`;
const change = (changes: Record<string, string | null>) => api.post(`${irUrl()}/changes`, { token: owner.accessToken, body: { changes } });
const validate = (changes: Record<string, string | null>) => api.post(`${irUrl()}/validate`, { token: owner.accessToken, body: { changes } });
const readIr = () => api.get(irUrl(), { token: owner.accessToken });
const fileUrl = (path: string) => `/api/v1/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`;
const readFile = (path: string) => api.get(fileUrl(path), { token: owner.accessToken });
const putFile = (path: string, text: string) =>
  api.request('PUT', fileUrl(path), { token: owner.accessToken, rawBody: text, headers: { 'content-type': 'application/octet-stream' } });
const removeFile = (path: string) =>
  api.delete(`/api/v1/projects/${projectId}/files?path=${encodeURIComponent(path)}&recursive=true`, { token: owner.accessToken });

const shared = (i: number) =>
  `bounded_context:\n  name: Shared${i}\n  namespace: acme.shared${i}\n  value_objects:\n    - { name: Money, properties: [ { name: amount, type: decimal } ] }\n`;
const order = (i: number, total = `Shared${i}.Money`) => `bounded_context:
  name: Order${i}
  namespace: acme.order${i}
  aggregates:
    - name: Order${i}
      root_entity: { name: Order${i}Entity, properties: [ { name: id, type: uuid, identifier: true }, { name: total, type: ${total} } ] }
`;
const codesOf = (diagnostics: Array<{ file: string; code: string }>) => diagnostics.map((d) => `${d.file} ${d.code}`);

describe('IR changes: all or nothing', () => {
  it('never leaves an invalid model when two changes, each valid alone, run at once (10 trials)', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 10; i++) {
      expect((await change({ [`ir/contexts/shared${i}.yaml`]: shared(i) })).status).toBe(200);
      // Alone, each is valid; together, the order refers to a context the other change deletes.
      const results = await Promise.all([change({ [`ir/contexts/shared${i}.yaml`]: null }), change({ [`ir/contexts/order${i}.yaml`]: order(i) })]);
      expect(results.map((r) => r.status).sort(), results.map((r) => r.text).join('\n')).toEqual([200, 422]);
      const model = await readIr();
      expect(model.body.valid, JSON.stringify(model.body.diagnostics)).toBe(true);
    }
  });

  it('writes nothing when the change deletes a file that does not exist', async () => {
    const response = await change({ 'ir/contexts/fresh.yaml': order(100, 'decimal'), 'ir/contexts/missing.yaml': null });
    expect(response.status, response.text).toBe(404);
    expect(response.body.error.code).toBe('FILE_NOT_FOUND');
    expect(response.body.error.details.paths).toEqual(['ir/contexts/missing.yaml']);
    expect((await readFile('ir/contexts/fresh.yaml')).status).toBe(404);
  });

  it('puts back what it wrote when a later write fails', async () => {
    expect((await change({ 'ir/contexts/kept.yaml': order(200, 'decimal') })).status).toBe(200);
    const mkdir = await api.post(`/api/v1/projects/${projectId}/files/mkdir`, { token: owner.accessToken, body: { path: 'ir/contexts/zz.yaml' } });
    expect(mkdir.status).toBe(201);
    // Sorted, kept.yaml and new.yaml are written before zz.yaml, a directory, fails.
    const response = await change({
      'ir/contexts/kept.yaml': order(200, 'int'),
      'ir/contexts/new.yaml': order(201, 'decimal'),
      'ir/contexts/zz.yaml': order(202, 'decimal'),
    });
    expect(response.status, response.text).toBe(409);
    expect(response.body.error.message).toContain('nothing was written');
    expect((await readFile('ir/contexts/kept.yaml')).text).toBe(order(200, 'decimal'));
    expect((await readFile('ir/contexts/new.yaml')).status).toBe(404);
    expect((await readIr()).body.valid).toBe(true);
    expect((await removeFile('ir/contexts/zz.yaml')).status).toBe(204);
  });
});

describe('hostile IR: diagnostics or 4xx, never a 500', () => {
  it('reports alias floods and billion laughs on every IR endpoint', async () => {
    const bombs = { 'ir/contexts/flood.yaml': aliasFlood(), 'ir/contexts/laughs.yaml': billionLaughs() };
    const preview = await validate(bombs);
    expect(preview.status, preview.text).toBe(200);
    expect(codesOf(preview.body.diagnostics)).toEqual(['ir/contexts/flood.yaml LIMIT_EXCEEDED', 'ir/contexts/laughs.yaml LIMIT_EXCEEDED']);
    const refused = await change(bombs);
    expect(refused.status).toBe(422);
    expect(codesOf(refused.body.error.details.diagnostics)).toEqual(codesOf(preview.body.diagnostics));
  });

  it('answers GET /ir with a diagnostic on an alias bomb placed through the files API, and recovers when it goes', async () => {
    expect((await putFile('ir/contexts/laughs.yaml', billionLaughs())).status).toBe(201);
    const model = await readIr();
    expect(model.status, model.text).toBe(200);
    expect(codesOf(model.body.diagnostics)).toEqual(['ir/contexts/laughs.yaml LIMIT_EXCEEDED']);
    const other = await validate({ 'ir/contexts/extra.yaml': order(300, 'decimal') });
    expect(other.status).toBe(200);
    expect(codesOf(other.body.diagnostics)).toEqual(['ir/contexts/laughs.yaml LIMIT_EXCEEDED']);
    expect((await change({ 'ir/contexts/laughs.yaml': null })).status).toBe(200);
    expect((await readIr()).body.valid).toBe(true);
  });

  it('refuses an unsafe pattern and a huge min_length, and /generate refuses them when placed by hand', async () => {
    const unsafe = await change({ 'ir/contexts/shop.yaml': withRules("{ pattern: '^(\\w+)*!$', min_length: 28 }") });
    expect(unsafe.status).toBe(422);
    expect(withoutInfo(unsafe.body.error.details.diagnostics as Diagnostic[]).map((d) => d.code)).toEqual(['INVALID_VALIDATION_RULE', 'INVALID_VALIDATION_RULE']);
    const huge = await change({ 'ir/contexts/shop.yaml': withRules('{ min_length: 5e7 }') });
    expect(huge.status).toBe(422);
    expect(huge.body.error.details.diagnostics[0]).toEqual(
      expect.objectContaining({ code: 'SCHEMA_INVALID_VALUE', message: '`min_length` is 50000000; at most 10000 is allowed here' }),
    );

    expect((await putFile('ir/contexts/shop.yaml', withRules('{ min_length: 5e7 }'))).status).toBe(201);
    const generated = await api.post(`/api/v1/projects/${projectId}/generate`, { token: owner.accessToken, body: {} });
    expect(generated.status, generated.text).toBe(422);
    expect(generated.body.error.details.diagnostics.length).toBeGreaterThan(0);
    expect((await change({ 'ir/contexts/shop.yaml': null })).status).toBe(200);
  });
});
