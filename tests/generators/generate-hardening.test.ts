/**
 * The generation record (`.vaporform/generated/<generator>.json`) lives in the workspace, so the sandbox can
 * rewrite it: whatever it holds, generation answers 200, ignores a broken record with a warning, and treats
 * the files as possibly hand-edited (a changed file is kept, the new version written beside it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, type SignedIn } from '../helpers/http.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { createProject, sh } from '../helpers/sandbox.js';

let t: TestApp;
let api: ApiClient;
let owner: SignedIn;
let projectId: string;
const RECORD = '.vaporform/generated/typescript-http.json';

beforeAll(async () => {
  t = await startTestApp();
  api = new ApiClient(t.baseUrl);
  owner = await signUp(api, 'gen-record');
  projectId = await createProject(api, owner);
  const changes = loadFixture('hr-leave');
  changes['ir/project.yaml'] = changes['ir/project.yaml']!.replace(/runtime: \w+/, 'runtime: node').replace(/, framework: \w+/, '');
  const written = await api.post(`/api/v1/projects/${projectId}/ir/changes`, { token: owner.accessToken, body: { changes } });
  expect(written.status, written.text).toBe(200);
});
afterAll(async () => {
  await t?.services.sandboxes.destroy(projectId).catch(() => {});
  await t?.close();
});

async function generate() {
  const response = await api.post(`/api/v1/projects/${projectId}/generate`, { token: owner.accessToken, body: {} });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

describe('a generation record rewritten by the sandbox', () => {
  it('is ignored with a warning, never a 500, whatever it holds', { timeout: 120_000 }, async () => {
    const first = await generate();
    expect(first.warnings).toEqual([]);
    const broken = {
      'not JSON': "printf 'not json{'",
      'files: null': `printf '{"generator":"typescript-http","version":"0.1.0","files":null}'`,
      'an object for a hash': `printf '{"generator":"typescript-http","version":"0.1.0","files":{"src/server.js":{"$ne":1}}}'`,
      'JSON null': "printf 'null'",
      'too large to read': 'head -c 5000000 /dev/zero',
    };
    for (const [what, script] of Object.entries(broken)) {
      await sh(api, owner, projectId, `${script} > ${RECORD}`);
      const report = await generate();
      expect(report.warnings, what).toEqual([expect.stringContaining(`${RECORD}`)]);
      expect(report.warnings[0], what).toContain('treated as hand-edited');
      expect(report.conflicts, what).toEqual([]);
      // The record is whole again: the next run has nothing to say.
      expect((await generate()).warnings, what).toEqual([]);
    }
  });

  it('makes an edited file a conflict when the record cannot be trusted', { timeout: 60_000 }, async () => {
    await sh(api, owner, projectId, `echo '// mine' >> src/server.js && printf '[]' > ${RECORD}`);
    const report = await generate();
    expect(report.warnings).toEqual([expect.stringContaining('is not a generation record')]);
    expect(report.conflicts).toEqual([{ path: 'src/server.js', besidePath: 'src/server.js.generated', reason: 'not-generated' }]);
    expect(await sh(api, owner, projectId, 'tail -n 1 src/server.js')).toBe('// mine');
  });
});
