/**
 * The generation record (`.vaporform/generated/<generator>.json`) lives in the workspace, so the sandbox can
 * rewrite it: whatever it holds, generation answers 200, ignores a broken record with a warning, and treats
 * the files as possibly hand-edited (a changed file is kept, the new version written beside it). Whatever it
 * puts there instead (a directory, a link out or into a loop, a FIFO, a file for its directory), the files are
 * generated and the record that could not be written is a warning.
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
      'an object for a hash': `printf '{"generator":"typescript-http","version":"0.1.0","files":{"src/server.ts":{"$ne":1}}}'`,
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
    await sh(api, owner, projectId, `echo '// mine' >> src/server.ts && printf '[]' > ${RECORD}`);
    const report = await generate();
    expect(report.warnings).toEqual([expect.stringContaining('is not a generation record')]);
    expect(report.conflicts).toEqual([{ path: 'src/server.ts', besidePath: 'src/server.ts.generated', reason: 'not-generated' }]);
    expect(await sh(api, owner, projectId, 'tail -n 1 src/server.ts')).toBe('// mine');
  });
});

describe('a generation record replaced by something else in the sandbox', () => {
  it('generates with a warning, never a 500', { timeout: 180_000 }, async () => {
    // From a clean generation: no hand edit left by the tests above.
    await sh(api, owner, projectId, 'rm -rf src .vaporform');
    expect((await api.post(`/api/v1/projects/${projectId}/generate`, { token: owner.accessToken, body: {} })).status).toBe(200);
    const kinds = {
      'a directory': `rm -f ${RECORD} && mkdir ${RECORD}`,
      'a link out of the workspace': `ln -sf /etc/passwd ${RECORD}`,
      'a link to itself': `ln -sf typescript-http.json ${RECORD}`,
      'a FIFO': `rm -f ${RECORD} && mkfifo ${RECORD}`,
      'a file where its directory should be': `rm -rf .vaporform/generated && echo x > .vaporform/generated`,
      'its directory a link out of the workspace': `rm -rf .vaporform/generated && ln -s /tmp .vaporform/generated`,
    };
    for (const [what, script] of Object.entries(kinds)) {
      await sh(api, owner, projectId, script);
      const response = await api.post(`/api/v1/projects/${projectId}/generate`, { token: owner.accessToken, body: {} });
      expect(response.status, `${what}: ${response.text}`).toBe(200);
      expect(response.body.warnings, what).toContainEqual(expect.stringContaining(`${RECORD} could not be written`));
      expect(response.body.conflicts, what).toEqual([]);
      expect(await sh(api, owner, projectId, 'test -f src/server.ts && echo generated'), what).toBe('generated');
      await sh(api, owner, projectId, 'rm -rf .vaporform/generated && mkdir -p .vaporform/generated');
    }
  });
});
