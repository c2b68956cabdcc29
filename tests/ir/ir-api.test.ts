import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { createProject, sh } from '../helpers/sandbox.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'ir');
  projectId = await createProject(api, owner);
});
afterAll(async () => {
  await t?.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

const irUrl = () => `/api/v1/projects/${projectId}/ir`;

describe('the IR over HTTP', () => {
  it('reports an empty workspace as a model without a project', async () => {
    const response = await api.get(irUrl(), { token: owner.accessToken });
    expect(response.status).toBe(200);
    expect(response.body.valid).toBe(false);
    expect(response.body.files).toEqual([]);
    expect(response.body.diagnostics.map((d: { code: string }) => d.code)).toContain('MISSING_PROJECT');
  });

  it('writes a valid change into the workspace and describes it as a diff', async () => {
    const changes = loadFixture('ecommerce');
    const response = await api.post(`${irUrl()}/changes`, { token: owner.accessToken, body: { changes } });
    expect(response.status, response.text).toBe(200);
    expect(response.body.valid).toBe(true);
    const added = response.body.diff.changes.filter((c: { change: string; element: string }) => c.change === 'added');
    expect(added.map((c: { path: string }) => c.path)).toEqual(expect.arrayContaining(['Order', 'Payment', 'Inventory']));
    const read = await api.get(irUrl(), { token: owner.accessToken });
    expect(read.body.valid).toBe(true);
    expect(read.body.files.sort()).toEqual(Object.keys(changes).sort());
    // The files are really in the sandbox's workspace.
    expect(await sh(api, owner, projectId, 'ls ir/contexts | sort | tr "\\n" " "')).toBe('inventory.yaml order.yaml payment.yaml');
  });

  it('validates without writing, and refuses to write an invalid change', async () => {
    const broken = { 'ir/contexts/order.yaml': 'bounded_context:\n  name: Order\n  namespace: acme.order\n  commands: [ { name: PayOrder, aggregate: Ordr } ]\n' };
    const before = await sh(api, owner, projectId, 'sha256sum ir/contexts/order.yaml');
    const preview = await api.post(`${irUrl()}/validate`, { token: owner.accessToken, body: { changes: broken } });
    expect(preview.status).toBe(200);
    expect(preview.body.valid).toBe(false);
    expect(preview.body.diagnostics.length).toBeGreaterThan(0);
    const refused = await api.post(`${irUrl()}/changes`, { token: owner.accessToken, body: { changes: broken } });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('UNPROCESSABLE');
    expect(refused.body.error.details.diagnostics.length).toBeGreaterThan(0);
    expect(await sh(api, owner, projectId, 'sha256sum ir/contexts/order.yaml')).toBe(before);
  });

  it('only touches ir/**.yaml', async () => {
    for (const path of ['src/evil.yaml', 'ir/../src/evil.yaml', 'ir/./x.yaml', '/ir/x.yaml', 'ir/x.txt']) {
      const response = await api.post(`${irUrl()}/validate`, { token: owner.accessToken, body: { changes: { [path]: 'x: 1' } } });
      expect(response.status, path).toBe(400);
    }
  });

  it('lets readers read the IR but not change it', async () => {
    const reader = await signUp(api, 'ir-reader');
    await api.post(`/api/v1/projects/${projectId}/members`, { token: owner.accessToken, body: { email: reader.email, role: 'read' } });
    expect((await api.get(irUrl(), { token: reader.accessToken })).body.valid).toBe(true);
    const denied = await api.post(`${irUrl()}/changes`, {
      token: reader.accessToken,
      body: { changes: { 'ir/contexts/extra.yaml': 'bounded_context: { name: Extra, namespace: acme.extra }\n' } },
    });
    expect(denied.status).toBe(403);
  });
});
