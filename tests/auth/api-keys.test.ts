import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectA: string;
let projectB: string;

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'keys');
  projectA = (await api.post('/api/v1/projects', { token: owner.accessToken, body: { name: 'A', stack: 'node' } })).body.id;
  projectB = (await api.post('/api/v1/projects', { token: owner.accessToken, body: { name: 'B', stack: 'go' } })).body.id;
});
afterAll(async () => t?.close());

async function createKey(body: Record<string, unknown>) {
  const response = await api.post('/api/v1/auth/api-keys', { token: owner.accessToken, body });
  expect(response.status, response.text).toBe(201);
  return response.body as { key: string; apiKey: { id: string; prefix: string } };
}

describe('API keys', () => {
  it('shows the key once, with a visible prefix, and stores only its hash', async () => {
    const { key, apiKey } = await createKey({ name: 'ci', permissions: ['read'] });
    expect(key.startsWith(`${apiKey.prefix}_`)).toBe(true);
    expect(apiKey.prefix).toMatch(/^vf_[A-Za-z0-9]{10}$/);
    const list = await api.get('/api/v1/auth/api-keys', { token: owner.accessToken });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(key);
    expect(list.body.items.find((item: { id: string }) => item.id === apiKey.id)).toMatchObject({
      name: 'ci',
      prefix: apiKey.prefix,
      permissions: ['read'],
      projectIds: null,
      revokedAt: null,
    });
    const { rows } = await t.database.db.query('SELECT * FROM api_keys WHERE id = $1', [apiKey.id]);
    expect(JSON.stringify(rows[0])).not.toContain(key.split('_').at(-1));
  });

  it('authenticates as its owner and records when it was used', async () => {
    const { key, apiKey } = await createKey({ name: 'reader', permissions: ['read'] });
    const me = await api.get('/api/v1/auth/me', { token: key });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(owner.userId);
    const project = await api.get(`/api/v1/projects/${projectA}`, { token: key });
    expect(project.status).toBe(200);
    expect(project.body.permissions).toEqual(['read']);
    await expect
      .poll(async () => (await t.database.db.query('SELECT last_used_at FROM api_keys WHERE id = $1', [apiKey.id])).rows[0]
        .last_used_at)
      .not.toBeNull();
  });

  it('narrows to its permissions: a read key cannot change a project', async () => {
    const { key } = await createKey({ name: 'ro', permissions: ['read'] });
    const response = await api.patch(`/api/v1/projects/${projectA}`, { token: key, body: { description: 'nope' } });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('FORBIDDEN');
  });

  it('narrows to its projects: another project is not found, and lists show only its own', async () => {
    const { key } = await createKey({ name: 'scoped', permissions: ['read', 'write', 'admin'], projectIds: [projectA] });
    expect((await api.get(`/api/v1/projects/${projectA}`, { token: key })).status).toBe(200);
    const other = await api.get(`/api/v1/projects/${projectB}`, { token: key });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('PROJECT_NOT_FOUND');
    const list = await api.get('/api/v1/projects', { token: key });
    expect(list.body.items.map((p: { id: string }) => p.id)).toEqual([projectA]);
    // A scoped key cannot create projects outside its scope.
    const created = await api.post('/api/v1/projects', { token: key, body: { name: 'C', stack: 'node' } });
    expect(created.status).toBe(403);
  });

  it('cannot be scoped to a project its owner cannot see', async () => {
    const stranger = await signUp(api, 'stranger');
    const theirs = await api.post('/api/v1/projects', { token: stranger.accessToken, body: { name: 'X', stack: 'node' } });
    const response = await api.post('/api/v1/auth/api-keys', {
      token: owner.accessToken,
      body: { name: 'sneaky', permissions: ['read'], projectIds: [theirs.body.id] },
    });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('PROJECT_NOT_FOUND');
  });

  it('stops working once revoked', async () => {
    const { key, apiKey } = await createKey({ name: 'temp', permissions: ['read'] });
    expect((await api.get('/api/v1/auth/me', { token: key })).status).toBe(200);
    expect((await api.delete(`/api/v1/auth/api-keys/${apiKey.id}`, { token: owner.accessToken })).status).toBe(204);
    const after = await api.get('/api/v1/auth/me', { token: key });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('API_KEY_INVALID');
    expect((await api.delete(`/api/v1/auth/api-keys/${apiKey.id}`, { token: owner.accessToken })).status).toBe(404);
  });

  it('stops working once expired, and refuses an expiry in the past', async () => {
    const past = await api.post('/api/v1/auth/api-keys', {
      token: owner.accessToken,
      body: { name: 'old', permissions: ['read'], expiresAt: new Date(Date.now() - 1000).toISOString() },
    });
    expect(past.status).toBe(400);
    const { key, apiKey } = await createKey({
      name: 'short',
      permissions: ['read'],
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect((await api.get('/api/v1/auth/me', { token: key })).status).toBe(200);
    await t.database.db.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [apiKey.id]);
    expect((await api.get('/api/v1/auth/me', { token: key })).status).toBe(401);
  });

  it('refuses forged and malformed keys', async () => {
    const { key } = await createKey({ name: 'real', permissions: ['read'] });
    const forged = `${key.slice(0, -4)}AAAA`;
    for (const token of [forged, 'vf_short', `${key}x`, 'vf_AAAAAAAAAA_' + 'A'.repeat(43)]) {
      const response = await api.get('/api/v1/auth/me', { token });
      expect(response.status, token).toBe(401);
      expect(response.body.error.code).toBe('API_KEY_INVALID');
    }
  });

  it('cannot manage keys itself', async () => {
    const { key } = await createKey({ name: 'admin', permissions: ['read', 'write', 'execute', 'admin'] });
    const create = await api.post('/api/v1/auth/api-keys', { token: key, body: { name: 'child', permissions: ['read'] } });
    expect(create.status).toBe(403);
    expect((await api.get('/api/v1/auth/api-keys', { token: key })).status).toBe(403);
  });

  it("cannot revoke someone else's key", async () => {
    const { apiKey } = await createKey({ name: 'mine', permissions: ['read'] });
    const other = await signUp(api, 'other');
    const response = await api.delete(`/api/v1/auth/api-keys/${apiKey.id}`, { token: other.accessToken });
    expect(response.status).toBe(404);
    const { rows } = await t.database.db.query('SELECT revoked_at FROM api_keys WHERE id = $1', [apiKey.id]);
    expect(rows[0].revoked_at).toBeNull();
  });
});
