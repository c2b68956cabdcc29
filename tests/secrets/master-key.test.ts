/**
 * The master key: a wrong one stops the server at start-up with a clear error and changes nothing; a rotation
 * re-wraps every data key under a new key while requests go on, every secret readable throughout.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateMasterKey } from '../../services/secrets/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject } from '../helpers/sandbox.js';

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const COUNT = 40;
const valueOf = (i: number, version: number) => `value-${i}-v${version}-${'x'.repeat(i)}`;

let first: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
const apps: TestApp[] = [];

beforeAll(async () => {
  first = await startTestApp({ env: { VAPORFORM_MASTER_KEY: keyA } });
  apps.push(first);
  api = new ApiClient(first.baseUrl);
  owner = await signUp(api, 'rotation');
  projectId = await createProject(api, owner);
  for (let i = 0; i < COUNT; i++) {
    const response = await api.post(`/api/v1/projects/${projectId}/secrets`, { token: owner.accessToken, body: { name: `S_${i}`, value: valueOf(i, 1) } });
    expect(response.status, response.text).toBe(201);
  }
});
afterAll(async () => {
  for (const app of apps.reverse()) await app.close();
});

/** The servers of one deployment share their token key. */
const shared = () => ({ JWT_SECRET: first.env.JWT_SECRET! });

async function keyIds(): Promise<Array<{ id: string; state: string }>> {
  return (await first.database.db.query<{ id: string; state: string }>('SELECT id, state FROM secret_master_keys ORDER BY created_at')).rows;
}

describe('the master key', () => {
  it('when wrong or missing, stops the start with a clear error and changes nothing', async () => {
    const before = await keyIds();
    await expect(startTestApp({ database: first.database, env: { VAPORFORM_MASTER_KEY: keyB } })).rejects.toThrow(/wrong master key.*need master key/);
    await expect(startTestApp({ database: first.database, env: { VAPORFORM_MASTER_KEY: 'too-short' } })).rejects.toThrow(/VAPORFORM_MASTER_KEY must be 32 bytes in base64/);
    expect(await keyIds()).toEqual(before);
  });

  it('is rotated while requests go on, every secret readable throughout', async () => {
    // Every server first gets the new key, the old one kept readable.
    const second = await startTestApp({ database: first.database, env: { ...shared(), VAPORFORM_MASTER_KEY: keyB, VAPORFORM_MASTER_KEY_PREVIOUS: keyA } });
    apps.push(second);
    const api2 = new ApiClient(second.baseUrl);
    expect((await keyIds()).map((key) => key.state)).toEqual(['current', 'active']);

    const principal = { kind: 'user' as const, userId: owner.userId };
    const versions = new Map<number, number>(Array.from({ length: COUNT }, (_, i) => [i, 1]));
    let rotating = true;
    let reads = 0;
    const failures: unknown[] = [];
    const load = (async () => {
      let round = 0;
      while (rotating || round < 3) {
        round++;
        // Reads and writes (new values, so new data keys) through a server that holds both keys, as every server
        // must before a rotation starts.
        for (const app of [second]) {
          const { env } = await app.services.secrets.projectEnv(principal, projectId, 'test').catch((err: unknown) => {
            failures.push(err);
            return { env: {} as Record<string, string> };
          });
          for (let i = 0; i < COUNT; i++) {
            const value = env[`S_${i}`];
            // A value being changed may be either of its two versions.
            const current = versions.get(i)!;
            if (value !== valueOf(i, current) && value !== valueOf(i, current - 1)) failures.push(new Error(`S_${i} read as ${value}`));
          }
          reads++;
        }
        const i = round % COUNT;
        const next = versions.get(i)! + 1;
        versions.set(i, next);
        const put = await api2.request('PUT', `/api/v1/projects/${projectId}/secrets/S_${i}`, { token: owner.accessToken, body: { value: valueOf(i, next) } });
        if (put.status !== 200) failures.push(new Error(`PUT ${put.status} ${put.text}`));
      }
    })();
    const report = await rotateMasterKey(second.database.db, second.config.secrets);
    rotating = false;
    await load;
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(2);
    expect(report.retiredKeyIds).toHaveLength(1);

    const keys = await keyIds();
    expect(keys.map((key) => key.state)).toEqual(['retired', 'current']);
    const { rows } = await first.database.db.query<{ key_id: string }>('SELECT DISTINCT key_id FROM secrets');
    expect(rows).toEqual([{ key_id: report.currentKeyId }]);

    // The new key alone is enough now; the old one alone is not.
    const third = await startTestApp({ database: first.database, env: { ...shared(), VAPORFORM_MASTER_KEY: keyB } });
    apps.push(third);
    const { env } = await third.services.secrets.projectEnv(principal, projectId, 'test');
    for (let i = 0; i < COUNT; i++) expect(env[`S_${i}`]).toBe(valueOf(i, versions.get(i)!));
    await expect(startTestApp({ database: first.database, env: { VAPORFORM_MASTER_KEY: keyA } })).rejects.toThrow(/wrong master key/);
    // Listing shows the fingerprints under the new key.
    const list = await new ApiClient(third.baseUrl).get(`/api/v1/projects/${projectId}/secrets`, { token: owner.accessToken });
    expect(list.body.items).toHaveLength(COUNT);
  });
});
