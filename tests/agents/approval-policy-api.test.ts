/** A project's approval policy for agent runs: the default until set, set by admins only, validated, kept in PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_APPROVAL_POLICY } from '../../services/agents/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let writer: SignedIn;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'policy-owner');
  writer = await signUp(api, 'policy-writer');
  const created = await api.post('/api/v1/projects', { token: owner.accessToken, body: { name: 'policy', stack: 'node' } });
  expect(created.status, created.text).toBe(201);
  projectId = created.body.id;
  const added = await api.post(`/api/v1/projects/${projectId}/members`, { token: owner.accessToken, body: { email: writer.email, role: 'write' } });
  expect(added.status, added.text).toBeLessThan(300);
});
afterAll(async () => {
  await t?.close();
});

describe('approval policy', () => {
  const path = () => `/api/v1/projects/${projectId}/agent-policy`;

  it('is the default until an admin sets it; members read it, only admins change it', async () => {
    const initial = await api.get(path(), { token: writer.accessToken });
    expect(initial.status, initial.text).toBe(200);
    expect(initial.body).toEqual(DEFAULT_APPROVAL_POLICY);

    const refused = await api.request('PUT', path(), { token: writer.accessToken, body: { mode: 'none' } });
    expect(refused.status).toBe(403);

    const set = await api.request('PUT', path(), { token: owner.accessToken, body: { mode: 'all', maxIrDeletes: 0 } });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toEqual({ mode: 'all', maxIrDeletes: 0, maxDeletePaths: DEFAULT_APPROVAL_POLICY.maxDeletePaths });
    expect((await api.get(path(), { token: writer.accessToken })).body).toEqual(set.body);
    expect(await t.services.approvalPolicies.forRun(projectId)).toEqual(set.body);
  });

  it('refuses what is not a policy', async () => {
    for (const body of [{ mode: 'yolo' }, { maxIrDeletes: -1 }, { maxDeletePaths: 1.5 }, { extra: true }]) {
      const response = await api.request('PUT', path(), { token: owner.accessToken, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
    const stranger = await signUp(api, 'policy-stranger');
    expect((await api.get(path(), { token: stranger.accessToken })).status).toBe(404);
  });
});
