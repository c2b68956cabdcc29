/**
 * Two API instances on one database and one Redis: a project's sandbox is started, stopped and resumed by
 * both at once without a failure, and there is only ever one container for it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxNames } from '../../services/containers/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, sh } from '../helpers/sandbox.js';

let database: TestDatabase;
let apps: TestApp[];
let owner: SignedIn;
const projects: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const env = { JWT_SECRET: randomBytes(32).toString('hex') };
  apps = [await startTestApp({ database, redis: true, env }), await startTestApp({ database, redis: true, env })];
  owner = await signUp(client(0), 'sbx-instances');
});
afterAll(async () => {
  for (const id of projects) await apps[0]?.services.sandboxes.destroy(id).catch(() => {});
  for (const app of apps ?? []) await app.close();
  await database?.drop();
});

function client(index: number): ApiClient {
  return new ApiClient(apps[index]!.baseUrl);
}

/** The same lifecycle request sent to both instances at once, twice each. */
async function onBoth(projectId: string, action: 'start' | 'stop') {
  const responses = await Promise.all(
    [0, 1, 0, 1].map((index) => client(index).post(`/api/v1/projects/${projectId}/sandbox/${action}`, { token: owner.accessToken })),
  );
  for (const response of responses) expect(response.status, response.text).toBe(200);
  return responses.map((response) => response.body.state as string);
}

async function containersOf(projectId: string): Promise<string[]> {
  const list = await apps[0]!.infra.docker.listContainers({ all: true, filters: { name: [sandboxNames(projectId).container] } });
  return list.map((container) => container.Id);
}

describe('one sandbox across two API instances', () => {
  it('starts, stops and starts again when both instances are asked at once', async () => {
    for (let round = 0; round < 3; round++) {
      const projectId = await createProject(client(0), owner);
      projects.push(projectId);
      expect(await onBoth(projectId, 'start')).toEqual(['running', 'running', 'running', 'running']);
      expect(await containersOf(projectId)).toHaveLength(1);
      // Both instances have talked to the sandbox's agent before it goes down.
      for (const index of [0, 1]) expect(await sh(client(index), owner, projectId, 'echo before')).toBe('before');
      expect(await onBoth(projectId, 'stop')).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
      expect(await onBoth(projectId, 'start')).toEqual(['running', 'running', 'running', 'running']);
      expect(await containersOf(projectId)).toHaveLength(1);
      for (const index of [0, 1]) expect(await sh(client(index), owner, projectId, 'echo after')).toBe('after');
    }
  });

  it('resumes a sandbox one instance pauses while the other uses it', async () => {
    const projectId = await createProject(client(0), owner);
    projects.push(projectId);
    expect(await sh(client(0), owner, projectId, 'echo up')).toBe('up');
    for (let round = 0; round < 3; round++) {
      const [, used] = await Promise.all([
        apps[0]!.services.sandboxes.pause(projectId),
        sh(client(1), owner, projectId, `echo round ${round}`),
      ]);
      expect(used).toBe(`round ${round}`);
      const started = await client(1).post(`/api/v1/projects/${projectId}/sandbox/start`, { token: owner.accessToken });
      expect(started.status, started.text).toBe(200);
      expect(started.body.state).toBe('running');
    }
    expect(await containersOf(projectId)).toHaveLength(1);
  });
});
