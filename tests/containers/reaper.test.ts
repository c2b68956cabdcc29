/**
 * The orphan reaper: a request that passed its access check before its project was deleted recreates the sandbox
 * (container, network, volumes, disk) after the deletion; nothing else would ever remove them. The reaper does,
 * and never touches another deployment's sandboxes on the same Docker engine.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskPaths } from '../../services/containers/index.js';
import { LABEL_DEPLOYMENT, sandboxNames } from '../../services/containers/sandbox-spec.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { createProject, sh } from '../helpers/sandbox.js';

let t: TestApp;
let other: TestApp;
let api: ApiClient;
let owner: SignedIn;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  [t, other] = await Promise.all([startTestApp(), startTestApp()]);
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'reaper');
});
afterAll(async () => {
  for (const step of cleanup) await step().catch(() => {});
  await Promise.all([t?.close(), other?.close()]);
});

async function exists(kind: 'container' | 'network' | 'volume', name: string): Promise<boolean> {
  const docker = t.infra.docker;
  const target = kind === 'container' ? docker.getContainer(name) : kind === 'network' ? docker.getNetwork(name) : docker.getVolume(name);
  try {
    await target.inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

describe('orphan reaper', () => {
  it('removes a sandbox recreated by a request that raced its project deletion, and nothing of another deployment', async () => {
    const id = await createProject(api, owner);
    cleanup.push(() => t.services.sandboxes.destroy(id));
    expect(await sh(api, owner, id, 'echo kept > a.txt')).toBe('');

    // Another deployment (its own database) on the same engine, with a live sandbox of its own.
    const otherApi = new ApiClient(other.baseUrl);
    const otherOwner = await signUp(otherApi, 'reaper-other');
    const otherId = await createProject(otherApi, otherOwner);
    cleanup.push(() => other.services.sandboxes.destroy(otherId));
    await sh(otherApi, otherOwner, otherId, 'true');

    const deleted = await api.delete(`/api/v1/projects/${id}`, { token: owner.accessToken });
    expect(deleted.status).toBe(204);
    const names = sandboxNames(id);
    expect(await exists('container', names.container)).toBe(false);

    // The in-flight request: it checked access before the deletion and now brings the sandbox back.
    await t.services.sandboxes.ensureRunning(id, 'node').catch(() => {
      // Recording the sandbox fails (its project row is gone); the container exists all the same.
    });
    expect(await exists('container', names.container)).toBe(true);
    expect(await exists('network', names.network)).toBe(true);
    const info = await t.infra.docker.getContainer(names.container).inspect();
    expect(info.Config.Labels[LABEL_DEPLOYMENT]).toMatch(/^[0-9a-f-]{36}$/);

    expect(await t.services.reapSandboxes()).toEqual([id]);
    for (const [kind, name] of [
      ['container', names.container],
      ['network', names.network],
      ['volume', names.workspaceVolume],
      ['volume', names.homeVolume],
      ['volume', names.agentVolume],
    ] as const) {
      expect(await exists(kind, name), `${kind} ${name}`).toBe(false);
    }
    expect(existsSync(diskPaths(t.config.sandbox.disksDir, id).image)).toBe(false);

    // The other deployment's sandbox is untouched, and its own reaper finds nothing to do.
    expect(await exists('container', sandboxNames(otherId).container)).toBe(true);
    expect(await other.services.reapSandboxes()).toEqual([]);
    expect(await sh(otherApi, otherOwner, otherId, 'echo alive')).toBe('alive');
    // A live project of this deployment is not touched either.
    expect(await t.services.reapSandboxes()).toEqual([]);
  });
});
