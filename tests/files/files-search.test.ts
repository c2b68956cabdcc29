/**
 * Search runs inside the sandbox (grep, as the sandbox user), bounded in files, bytes, matches and output,
 * with the query handed over as an argument: no shell ever parses it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FilesService } from '../../services/files/index.js';
import { sandboxSuite, sh } from '../helpers/sandbox.js';

const suite = sandboxSuite('search');
let projectId: string;

beforeAll(async () => {
  projectId = await suite.project();
  // 40 files of 17 bytes with a match each, a long line, and a file its owner made unreadable.
  await sh(
    suite.api,
    suite.owner,
    projectId,
    [
      'mkdir -p many odd',
      'for i in $(seq 1 40); do printf "needle number %02d\\n" $i > many/f$i.txt; done',
      `printf '%s' "$(head -c 40000 /dev/zero | tr '\\0' x)" > odd/long.txt && echo ' needle at the end' >> odd/long.txt`,
      "printf 'a $(touch pwned) b\\n--help\\n' > odd/literal.txt",
      'echo needle > odd/secret.txt && chmod 000 odd/secret.txt',
    ].join(' && '),
  );
});

const search = (query: string, path: string, extra = '') =>
  suite.api.get(`/api/v1/projects/${projectId}/files/search?q=${encodeURIComponent(query)}&path=${encodeURIComponent(path)}${extra}`, {
    token: suite.owner.accessToken,
  });

describe('search in the sandbox', () => {
  it('passes the query as text: shell syntax and grep options are just characters', async () => {
    for (const query of ['$(touch pwned)', '--help', '`touch pwned`', "'; touch pwned; '", '-r', '\\']) {
      const response = await search(query, 'odd');
      expect(response.status, `${query}: ${response.text}`).toBe(200);
    }
    expect((await search('$(touch pwned)', 'odd')).body.matches).toEqual([
      { path: 'odd/literal.txt', line: 1, column: 3, preview: 'a $(touch pwned) b' },
    ]);
    expect((await search('--help', 'odd')).body.matches).toMatchObject([{ path: 'odd/literal.txt', line: 2, column: 1 }]);
    expect(await sh(suite.api, suite.owner, projectId, 'find /workspace /home/sandbox /tmp -name pwned | wc -l')).toBe('0');
    const multiline = await search('a\nb', 'odd');
    expect(multiline.status).toBe(400);
  });

  it('reads only what the sandbox user may read, and marks a match beyond what it reads of a long line', async () => {
    const response = await search('needle', 'odd');
    expect(response.status, response.text).toBe(200);
    expect(response.body.matches.map((m: { path: string }) => m.path)).toEqual(['odd/long.txt']);
    expect(response.body.matches[0]).toMatchObject({ line: 1, column: 0 });
    expect(response.body.truncated).toBe(false);
  });

  it('stops at the file, byte and match budgets and says the result is truncated', async () => {
    const all = await search('needle', 'many');
    expect(all.body).toMatchObject({ truncated: false, filesSearched: 40 });
    expect(all.body.matches).toHaveLength(40);
    expect((await search('needle', 'many', '&maxResults=5')).body).toMatchObject({ truncated: true, matches: { length: 5 } });

    const limited = (limits: ConstructorParameters<typeof FilesService>[0]['limits']) =>
      new FilesService({
        sandboxes: suite.app.services.sandboxes,
        exec: (id, stack, request) => suite.app.services.containers.run(id, stack, request),
        authorize: (principal, id, permission) => suite.app.services.projects.authorize(principal, id, permission),
        bus: suite.app.infra.bus,
        db: suite.app.infra.db,
        limits,
        onError: (err) => suite.app.backgroundErrors.push(err),
      });
    const principal = { kind: 'user' as const, userId: suite.owner.userId };
    const options = { query: 'needle', path: 'many', maxResults: 1000, caseSensitive: false, includeIgnored: false };
    const byFiles = limited({ maxSearchFiles: 10 });
    const byBytes = limited({ maxSearchBytes: 100 });
    try {
      const files = await byFiles.search(principal, projectId, options);
      expect(files).toMatchObject({ truncated: true, filesSearched: 10 });
      expect(files.matches).toHaveLength(10);
      // 17 bytes a file: five fit in 100.
      const bytes = await byBytes.search(principal, projectId, options);
      expect(bytes).toMatchObject({ truncated: true, filesSearched: 5 });
      expect(bytes.matches).toHaveLength(5);
    } finally {
      await byFiles.close();
      await byBytes.close();
    }
    expect(suite.app.backgroundErrors).toEqual([]);
  });
});
