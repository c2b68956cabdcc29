/**
 * Each built-in generator, as a user meets it: the library model generated through the API into a project of its
 * stack with the project's own PostgreSQL, installed, type-checked and tested by the stack's own tools in the real
 * sandbox, then started and put through the one black-box HTTP test (black-box.ts). Then the model changes: the
 * regeneration adds a migration, which the restarted app applies to the existing database, keeping its rows.
 */
import { describe, expect, it } from 'vitest';
import type { ProcessInfo } from '../../lib/api-types.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { eventually } from '../helpers/poll.js';
import { exec, sandboxSuite, startProcess } from '../helpers/sandbox.js';
import { blackBox, etagVersion, psql, request, STACKS, withoutNulls, type AppTarget, type StackName } from './black-box.js';

const suite = sandboxSuite('black-box');
const PORT = 3000;
const auth = () => ({ token: suite.owner.accessToken });

/** A command of the stack in the project's sandbox, which must succeed; its output (the end of it). */
async function step(id: string, what: string, command: string, env: Record<string, string> = {}): Promise<string> {
  const result = await exec(suite.api, suite.owner, id, ['sh', '-c', `{ ${command}; } > /tmp/vf-step.log 2>&1; rc=$?; tail -c 20000 /tmp/vf-step.log; exit $rc`], {
    timeoutMs: 300_000,
    env,
  });
  expect(result.exitCode, `${what}: ${command}\n${result.stdout}`).toBe(0);
  return result.stdout;
}

async function startApp(id: string, start: string): Promise<{ pid: string; output: () => Promise<string> }> {
  const processes = `/api/v1/projects/${id}/processes`;
  const pid = await startProcess(suite.api, suite.owner, id, `PORT=${PORT} ${start}`);
  const output = async () => (await suite.api.get(`${processes}/${pid}/output`, auth())).body.output as string;
  let info: ProcessInfo | undefined;
  await eventually(
    async () => {
      info = (await suite.api.get(`${processes}/${pid}`, auth())).body;
      return info!.ports.includes(PORT) || info!.status !== 'running';
    },
    'the app listening',
    240_000,
    250,
  );
  expect(info!.status, await output()).toBe('running');
  return { pid, output };
}

async function stopApp(id: string, pid: string): Promise<void> {
  const processes = `/api/v1/projects/${id}/processes`;
  expect((await suite.api.post(`${processes}/${pid}/stop`, auth())).status).toBe(200);
  await eventually(async () => (await suite.api.get(`${processes}/${pid}`, auth())).body.status !== 'running', 'the app stopped');
}

async function generate(id: string): Promise<{ generator: string; written: string[] }> {
  const generated = await suite.api.post(`/api/v1/projects/${id}/generate`, { ...auth(), body: {} });
  expect(generated.status, generated.text).toBe(200);
  return generated.body;
}

/** The library model on the given stack, optionally with an optional `notes` on loans that BorrowBook sets. */
function library(stack: StackName, withNotes = false): Record<string, string> {
  const files = loadFixture('library');
  files['ir/project.yaml'] = files['ir/project.yaml']!.replace(/runtime: \w+/, `runtime: ${stack}`);
  if (withNotes) {
    const lending = files['ir/contexts/lending.yaml']!;
    files['ir/contexts/lending.yaml'] = lending
      .replace('          - { name: returnedOn, type: date, required: false }', '          - { name: returnedOn, type: date, required: false }\n          - { name: notes, type: string, required: false, validation: { max_length: 200 } }')
      .replace('        - { name: dueOn, type: date }\n      emits: [BookBorrowed', '        - { name: dueOn, type: date }\n        - { name: notes, type: string, required: false }\n      emits: [BookBorrowed');
    expect(files['ir/contexts/lending.yaml']).not.toBe(lending);
    expect(files['ir/contexts/lending.yaml']!.match(/name: notes/g)).toHaveLength(2);
  }
  return files;
}

describe.each(Object.keys(STACKS) as StackName[])('the %s stack', (stack) => {
  const tools = STACKS[stack];

  it('generates a service that type-checks, passes its tests and the black-box test on the project PostgreSQL, and evolves its schema', { timeout: 900_000 }, async () => {
    const id = await suite.project(stack);
    const patched = await suite.api.patch(`/api/v1/projects/${id}`, { ...auth(), body: { services: { postgres: true } } });
    expect(patched.status, patched.text).toBe(200);
    const written = await suite.api.post(`/api/v1/projects/${id}/ir/changes`, { ...auth(), body: { changes: library(stack) } });
    expect(written.status, written.text).toBe(200);
    const first = await generate(id);
    expect(first.generator).toBe(tools.generator);
    expect(first.written).toEqual(expect.arrayContaining(['migrations/001_lending.sql', 'migrations/schema.json']));

    await step(id, 'install', tools.install);
    await step(id, 'type-check', tools.typecheck);
    // Its own tests, on the memory store and then on the project's PostgreSQL (DATABASE_URL is in every command).
    await step(id, 'its tests on memory', tools.test, { DATABASE_URL: '' });
    await step(id, 'its tests on PostgreSQL', tools.test);
    // Whatever its tests stored is gone before the app starts: the black-box test counts rows.
    const tables = await psql(id, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'lending_%'");
    for (const [table] of tables) await psql(id, `TRUNCATE "${table}"`);

    const app = await startApp(id, tools.start);
    expect(await app.output()).toMatch(/storage: postgres postgres:5432\/app/);
    const target: AppTarget = { api: suite.api, user: suite.owner, projectId: id, port: PORT };
    const { loan } = await blackBox(target);
    await stopApp(id, app.pid);

    // The model grows a field: one new migration, applied to the database that holds the loans, rows kept.
    const changed = await suite.api.post(`/api/v1/projects/${id}/ir/changes`, { ...auth(), body: { changes: library(stack, true) } });
    expect(changed.status, changed.text).toBe(200);
    const second = await generate(id);
    const added = second.written.filter((p) => /^migrations\/002_[a-z0-9_]+\.sql$/.test(p));
    expect(added, second.written.join(', ')).toHaveLength(1);
    expect(second.written).not.toContain('migrations/001_lending.sql');
    await step(id, 'install again', tools.install);
    await step(id, 'type-check again', tools.typecheck);

    const restarted = await startApp(id, tools.start);
    expect(await restarted.output()).toContain(added[0]!.slice('migrations/'.length));
    const kept = await request(target, 'GET', `/lending/loans/${loan.id}`);
    expect(kept.status, kept.text).toBe(200);
    expect(withoutNulls(kept.body)).toEqual(loan);
    expect(etagVersion(kept.headers.etag)).toBe(2);
    const noted = await request(target, 'POST', '/lending/loans/commands/BorrowBook', {
      body: { memberId: loan.memberId, isbn: '0-306-40615-2', dueOn: '2024-06-01', notes: 'signed copy' },
    });
    expect(noted.status, noted.text).toBe(201);
    expect(noted.body.entity.notes).toBe('signed copy');
    const tooLong = await request(target, 'POST', '/lending/loans/commands/BorrowBook', {
      body: { memberId: loan.memberId, isbn: '0-306-40615-2', dueOn: '2024-06-01', notes: 'x'.repeat(201) },
    });
    expect(tooLong.status, tooLong.text).toBe(400);
    // PostgreSQL text cannot hold NUL: refused as input, never a failed save.
    const nul = await request(target, 'POST', '/lending/loans/commands/BorrowBook', {
      body: { memberId: loan.memberId, isbn: '0-306-40615-2', dueOn: '2024-06-01', notes: 'a\u0000b' },
    });
    expect([nul.status, nul.body?.error?.code], nul.text).toEqual([400, 'VALIDATION_FAILED']);
    await stopApp(id, restarted.pid);
    expect(await psql(id, 'SELECT name FROM schema_migrations ORDER BY name')).toEqual([['001_lending.sql'], [added[0]!.slice('migrations/'.length)]]);
    expect(await psql(id, 'SELECT count(*) FROM lending_loans')).toEqual([['4']]);
  });
});
