import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let stranger: SignedIn;

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'owner');
  stranger = await signUp(api, 'stranger');
});
afterAll(async () => t?.close());

async function create(user: SignedIn, body: Record<string, unknown>) {
  const response = await api.post('/api/v1/projects', { token: user.accessToken, body });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function projectRows(): Promise<number> {
  return Number((await t.database.db.query('SELECT count(*) AS n FROM projects')).rows[0].n);
}

describe('project lifecycle', () => {
  it('creates a project with its owner, derived slug and timestamps', async () => {
    const project = await create(owner, { name: 'Crème Brûlée Shop!', stack: 'node', description: 'Desserts' });
    expect(project).toMatchObject({
      name: 'Crème Brûlée Shop!',
      slug: 'creme-brulee-shop',
      description: 'Desserts',
      stack: 'node',
      status: 'active',
      services: { postgres: false, redis: false },
      role: 'owner',
      permissions: ['read', 'write', 'execute', 'admin'],
    });
    expect(Date.parse(project.createdAt)).not.toBeNaN();
    const fetched = await api.get(`/api/v1/projects/${project.id}`, { token: owner.accessToken });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(project);
  });

  it('makes derived slugs unique and refuses a taken explicit slug with 409', async () => {
    const first = await create(owner, { name: 'Twin', stack: 'python' });
    const second = await create(owner, { name: 'Twin', stack: 'python' });
    expect([first.slug, second.slug]).toEqual(['twin', 'twin-2']);
    const before = await projectRows();
    const taken = await api.post('/api/v1/projects', {
      token: owner.accessToken,
      body: { name: 'Other', slug: 'twin', stack: 'go' },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('SLUG_TAKEN');
    expect(await projectRows()).toBe(before);
    // Slugs are per account: someone else may use the same one.
    expect((await create(stranger, { name: 'Twin', slug: 'twin', stack: 'go' })).slug).toBe('twin');
  });

  it('refuses bad input with 400 and writes nothing', async () => {
    const before = await projectRows();
    for (const body of [
      { name: '', stack: 'node' },
      { name: '   ', stack: 'node' },
      { name: 'x', stack: 'cobol' },
      { name: 'x', stack: 'node', slug: 'Not A Slug' },
      { name: 'x', stack: 'node', slug: '../../etc' },
      { name: 'x'.repeat(101), stack: 'node' },
      { stack: 'node' },
    ]) {
      const response = await api.post('/api/v1/projects', { token: owner.accessToken, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect(await projectRows()).toBe(before);
  });

  it('stores SQL-looking names verbatim', async () => {
    const name = "x'; DELETE FROM projects; --";
    const project = await create(owner, { name, stack: 'go', description: '1 OR 1=1' });
    expect(project.name).toBe(name);
    expect(project.slug).toBe('x-delete-from-projects');
    expect(await projectRows()).toBeGreaterThan(1);
  });

  it('updates a project and refuses an empty change', async () => {
    const project = await create(owner, { name: 'Before', stack: 'node' });
    const updated = await api.patch(`/api/v1/projects/${project.id}`, {
      token: owner.accessToken,
      body: { name: 'After', status: 'archived', description: 'new' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'After', status: 'archived', description: 'new', slug: project.slug });
    expect(Date.parse(updated.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(project.updatedAt));
    const empty = await api.patch(`/api/v1/projects/${project.id}`, { token: owner.accessToken, body: {} });
    expect(empty.status).toBe(400);
  });

  it('deletes a project; afterwards it is gone', async () => {
    const project = await create(owner, { name: 'Doomed', stack: 'node' });
    expect((await api.delete(`/api/v1/projects/${project.id}`, { token: owner.accessToken })).status).toBe(204);
    expect((await api.get(`/api/v1/projects/${project.id}`, { token: owner.accessToken })).status).toBe(404);
    const members = await t.database.db.query('SELECT 1 FROM project_members WHERE project_id = $1', [project.id]);
    expect(members.rowCount).toBe(0);
  });
});

describe('listing', () => {
  it('pages through every project exactly once, newest first', async () => {
    const lister = await signUp(api, 'lister');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await create(lister, { name: `P${i}`, stack: 'node' })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
      const page = await api.get(`/api/v1/projects${query}`, { token: lister.accessToken });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((p: { id: string }) => p.id));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('refuses a forged cursor and a silly limit with 400', async () => {
    for (const query of ['?cursor=not-a-cursor', `?cursor=${Buffer.from('["x","y"]').toString('base64url')}`, '?limit=0', '?limit=1000']) {
      const response = await api.get(`/api/v1/projects${query}`, { token: owner.accessToken });
      expect(response.status, query).toBe(400);
    }
  });

  it("lists only the caller's projects", async () => {
    const loner = await signUp(api, 'loner');
    const mine = await create(loner, { name: 'Mine', stack: 'node' });
    const list = await api.get('/api/v1/projects', { token: loner.accessToken });
    expect(list.body.items.map((p: { id: string }) => p.id)).toEqual([mine.id]);
  });
});

describe('access control', () => {
  it("hides someone else's project as 404 for every route", async () => {
    const project = await create(owner, { name: 'Private', stack: 'node' });
    const token = stranger.accessToken;
    const path = `/api/v1/projects/${project.id}`;
    const attempts = [
      api.get(path, { token }),
      api.patch(path, { token, body: { name: 'pwned' } }),
      api.delete(path, { token }),
      api.get(`${path}/members`, { token }),
      api.post(`${path}/members`, { token, body: { email: stranger.email, role: 'owner' } }),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('PROJECT_NOT_FOUND');
    }
    const unchanged = await api.get(path, { token: owner.accessToken });
    expect(unchanged.body.name).toBe('Private');
    // A project that never existed looks exactly the same.
    const missing = await api.get('/api/v1/projects/00000000-0000-4000-8000-000000000000', { token });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'PROJECT_NOT_FOUND', message: 'No such project' } });
  });

  it('gives each role its permissions and refuses the rest with 403', async () => {
    const project = await create(owner, { name: 'Team', stack: 'node' });
    const path = `/api/v1/projects/${project.id}`;
    const expected = {
      read: ['read'],
      execute: ['read', 'execute'],
      write: ['read', 'write', 'execute'],
      admin: ['read', 'write', 'execute', 'admin'],
    } as const;
    for (const [role, permissions] of Object.entries(expected)) {
      const member = await signUp(api, role);
      const added = await api.post(`${path}/members`, { token: owner.accessToken, body: { email: member.email, role } });
      expect(added.status, added.text).toBe(201);
      const seen = await api.get(path, { token: member.accessToken });
      expect(seen.body).toMatchObject({ role, permissions });
      const patch = await api.patch(path, { token: member.accessToken, body: { description: role } });
      expect(patch.status, role).toBe(role === 'admin' ? 200 : 403);
      const del = await api.delete(path, { token: member.accessToken });
      expect(del.status, role).toBe(403);
      expect(del.body.error.code).toBe('FORBIDDEN');
    }
    expect((await api.get(path, { token: owner.accessToken })).status).toBe(200);
  });

  it('rejects a non-uuid project id with 400', async () => {
    const response = await api.get('/api/v1/projects/1%20OR%201=1', { token: owner.accessToken });
    expect(response.status).toBe(400);
  });
});

describe('members', () => {
  it('invites an existing account by email, and refuses unknown or duplicate ones', async () => {
    const project = await create(owner, { name: 'Invites', stack: 'node' });
    const path = `/api/v1/projects/${project.id}/members`;
    const friend = await signUp(api, 'friend');
    const added = await api.post(path, { token: owner.accessToken, body: { email: friend.email.toUpperCase(), role: 'write' } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ userId: friend.userId, email: friend.email, role: 'write' });
    const again = await api.post(path, { token: owner.accessToken, body: { email: friend.email, role: 'read' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_MEMBER');
    const unknown = await api.post(path, { token: owner.accessToken, body: { email: 'nobody@example.test', role: 'read' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('USER_NOT_FOUND');
    const list = await api.get(path, { token: friend.accessToken });
    expect(list.body.items.map((m: { role: string }) => m.role).sort()).toEqual(['owner', 'write']);
    // The friend sees the project in their list now.
    const theirs = await api.get('/api/v1/projects', { token: friend.accessToken });
    expect(theirs.body.items.map((p: { id: string }) => p.id)).toContain(project.id);
  });

  it('lets only owners hand out owner and admin', async () => {
    const project = await create(owner, { name: 'Ranks', stack: 'node' });
    const path = `/api/v1/projects/${project.id}/members`;
    const admin = await signUp(api, 'admin');
    const newcomer = await signUp(api, 'newcomer');
    await api.post(path, { token: owner.accessToken, body: { email: admin.email, role: 'admin' } });
    const promote = await api.post(path, { token: admin.accessToken, body: { email: newcomer.email, role: 'owner' } });
    expect(promote.status).toBe(403);
    const asAdmin = await api.post(path, { token: admin.accessToken, body: { email: newcomer.email, role: 'admin' } });
    expect(asAdmin.status).toBe(403);
    const asWriter = await api.post(path, { token: admin.accessToken, body: { email: newcomer.email, role: 'write' } });
    expect(asWriter.status).toBe(201);
    const demoteOwner = await api.patch(`${path}/${owner.userId}`, { token: admin.accessToken, body: { role: 'read' } });
    expect(demoteOwner.status).toBe(403);
    const changed = await api.patch(`${path}/${newcomer.userId}`, { token: admin.accessToken, body: { role: 'read' } });
    expect(changed.status).toBe(200);
    expect(changed.body.role).toBe('read');
  });

  it('never leaves a project without an owner', async () => {
    const project = await create(owner, { name: 'Owned', stack: 'node' });
    const path = `/api/v1/projects/${project.id}/members`;
    const demote = await api.patch(`${path}/${owner.userId}`, { token: owner.accessToken, body: { role: 'admin' } });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe('LAST_OWNER');
    const leave = await api.delete(`${path}/${owner.userId}`, { token: owner.accessToken });
    expect(leave.status).toBe(409);
    const heir = await signUp(api, 'heir');
    await api.post(path, { token: owner.accessToken, body: { email: heir.email, role: 'owner' } });
    expect((await api.delete(`${path}/${owner.userId}`, { token: owner.accessToken })).status).toBe(204);
    expect((await api.get(`/api/v1/projects/${project.id}`, { token: owner.accessToken })).status).toBe(404);
    expect((await api.get(`/api/v1/projects/${project.id}`, { token: heir.accessToken })).body.role).toBe('owner');
  });

  it('lets a reader leave but not remove others', async () => {
    const project = await create(owner, { name: 'Readers', stack: 'node' });
    const path = `/api/v1/projects/${project.id}/members`;
    const a = await signUp(api, 'reader-a');
    const b = await signUp(api, 'reader-b');
    for (const user of [a, b]) await api.post(path, { token: owner.accessToken, body: { email: user.email, role: 'read' } });
    expect((await api.delete(`${path}/${b.userId}`, { token: a.accessToken })).status).toBe(403);
    expect((await api.delete(`${path}/${a.userId}`, { token: a.accessToken })).status).toBe(204);
    expect((await api.get(`/api/v1/projects/${project.id}`, { token: a.accessToken })).status).toBe(404);
  });
});
