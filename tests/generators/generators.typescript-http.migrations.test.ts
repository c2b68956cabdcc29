/**
 * typescript-http's migrations evolve with the model: a later change adds one new migration file computed from
 * the schema snapshot (migrations/schema.json), the old files stay byte-identical, a change that loses data is
 * refused (DESTRUCTIVE_CHANGE) unless allowed, and against the host PostgreSQL the v2 migration reaches a database
 * made by v1 without touching its rows.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { readModel, type Model } from '../../services/ir/index.js';
import { typescriptHttpGenerator, type GeneratedFile } from '../../services/generators/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { loadFixture } from '../helpers/ir-fixtures.js';
import { writeTemp } from './helpers.js';

const CONTEXT = 'ir/contexts/lending.yaml';
const RETURNED_ON = '          - { name: returnedOn, type: date, required: false }\n';
const STATUS = '          - { name: status, type: LoanStatus, required: false }\n';
const ENUM = (values: string) => `      enums:\n        - { name: LoanStatus, values: [${values}] }\n`;
const RESERVATION = `    - name: Reservation
      root_entity:
        name: ReservationEntity
        properties:
          - { name: id, type: uuid, identifier: true }
          - { name: isbn, type: string }
`;

/** The library fixture, edited: v1 has no returnedOn and a two-valued status; `edit` changes the context text. */
function library(edit: (yaml: string) => string = (y) => y): Model {
  const files = loadFixture('library');
  let yaml = files[CONTEXT]!;
  expect(yaml).toContain(RETURNED_ON);
  yaml = yaml.replace(RETURNED_ON, STATUS).replace('  commands:\n', `${ENUM('OPEN, RETURNED')}  commands:\n`);
  yaml = yaml.replace(/, \{ name: returnedOn, type: date \}/g, '').replace(/      requires: \[ \{ field: returnedOn, is: unset \} \]\n/g, '');
  const reading = readModel({ ...files, [CONTEXT]: edit(yaml) });
  if (!reading.valid) throw new Error(JSON.stringify(reading.diagnostics.filter((d) => d.severity === 'error')));
  return reading.model;
}

/** v2: returnedOn back (optional), a required `branch` without default, a Reservation aggregate, a LOST status. */
const v2 = (yaml: string) =>
  yaml
    .replace(STATUS, `${STATUS}${RETURNED_ON}          - { name: branch, type: string }\n`)
    .replace(ENUM('OPEN, RETURNED'), ENUM('OPEN, RETURNED, LOST'))
    .replace('  commands:\n', `${RESERVATION}  commands:\n`.replace(/^/, ''));

/** Generates as the service does: the pure output fitted to the workspace (path -> text). */
function generate(model: Model, workspace: Map<string, string>, allowDestructive = false): GeneratedFile[] {
  const files = typescriptHttpGenerator.generate(model, {});
  return typescriptHttpGenerator.evolve!(files, workspace, { allowDestructive });
}

const migrations = (files: GeneratedFile[]) => new Map(files.filter((f) => f.path.startsWith('migrations/')).map((f) => [f.path, f.content] as const));
const write = (workspace: Map<string, string>, files: GeneratedFile[]) => files.forEach((f) => workspace.set(f.path, f.content));

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('typescript-http migrations evolve with the model', () => {
  it('adds exactly one new migration for a new field, aggregate and enum value; the old files stay byte-identical', () => {
    const workspace = new Map<string, string>();
    const first = generate(library(), workspace);
    expect([...migrations(first).keys()]).toEqual(['migrations/001_lending.sql', 'migrations/schema.json']);
    write(workspace, first);
    const old001 = workspace.get('migrations/001_lending.sql')!;

    const second = generate(library(v2), workspace);
    const after = migrations(second);
    expect([...after.keys()]).toEqual(['migrations/001_lending.sql', 'migrations/002_create_lending_reservations_and_3_more.sql', 'migrations/schema.json']);
    expect(after.get('migrations/001_lending.sql')).toBe(old001);
    const sql = after.get('migrations/002_create_lending_reservations_and_3_more.sql')!;
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "lending_reservations" (\n  "id" UUID PRIMARY KEY,\n  "isbn" TEXT NOT NULL,\n  "_version" INTEGER NOT NULL DEFAULT 1\n);');
    expect(sql).toContain('ALTER TABLE "lending_loans" ADD COLUMN IF NOT EXISTS "returned_on" DATE;');
    // Required, no default in the model: nullable, and said so.
    expect(sql).toContain('-- branch is required by the model, but rows saved before this migration have no value');
    expect(sql).toContain('ALTER TABLE "lending_loans" ADD COLUMN IF NOT EXISTS "branch" TEXT;');
    expect(sql).toContain(`ALTER TABLE "lending_loans" ADD CHECK ("status" IN ('OPEN', 'RETURNED', 'LOST'));`);
    expect(sql).not.toMatch(/DROP (TABLE|COLUMN)/);
    write(workspace, second);

    // Nothing changed: no new file, every migration file as it was.
    const third = generate(library(v2), workspace);
    expect(migrations(third)).toEqual(after);

    // One more field: 003, named by it; 001 and 002 untouched.
    const fourth = migrations(generate(library((y) => v2(y).replace(STATUS, `${STATUS}          - { name: note, type: string, required: false }\n`)), workspace));
    expect([...fourth.keys()]).toEqual([...after.keys()].slice(0, 2).concat(['migrations/003_add_lending_loans_note.sql', 'migrations/schema.json']));
    for (const [p, text] of after) if (p.endsWith('.sql')) expect(fourth.get(p)).toBe(text);
  });

  it('the first generation is the old 001 schema, a snapshot beside it', () => {
    const files = generate(library(), new Map());
    const snapshot = JSON.parse(files.find((f) => f.path === 'migrations/schema.json')!.content);
    expect(snapshot.format).toBe(1);
    expect(snapshot.tables.map((t: { name: string }) => t.name)).toEqual(['lending_loans', 'lending_members', 'lending_events']);
    expect(snapshot.migrations.map((m: { name: string }) => m.name)).toEqual(['001_lending.sql']);
  });

  it('refuses a destructive change with DESTRUCTIVE_CHANGE (writing nothing) unless allowDestructive is set', () => {
    const workspace = new Map<string, string>();
    write(workspace, generate(library(), workspace));
    // isbn dropped (a rename reads as a drop and an add), renewals becomes text, RETURNED is no longer a status.
    const destructive = (y: string) =>
      y
        .replace(/          - \{ name: isbn, type: string, validation: .*\n/, '')
        .replace(/\{ name: renewals, type: int, validation: .*\}/, '{ name: renewals, type: string }')
        .replace(/, \{ name: isbn, type: string \}/g, '')
        .replace(/\{ name: renewals, type: int \}/g, '{ name: renewals, type: string }')
        .replace(ENUM('OPEN, RETURNED'), ENUM('OPEN'));
    const err = thrown(() => generate(library(destructive), workspace));
    expect(err.code).toBe('DESTRUCTIVE_CHANGE');
    expect(err.status).toBe(409);
    const changes = (err.details as { changes: Array<{ change: string; table: string; column?: string }> }).changes;
    expect(changes.map((c) => `${c.change} ${c.table}.${c.column}`).sort()).toEqual([
      'drop-column lending_loans.isbn',
      'enum-value-removed lending_loans.status',
      'type lending_loans.renewals',
    ]);

    const allowed = migrations(generate(library(destructive), workspace, true));
    const name = [...allowed.keys()].find((p) => p.startsWith('migrations/002_'))!;
    const sql = allowed.get(name)!;
    expect(sql).toContain('ALTER TABLE "lending_loans" DROP COLUMN IF EXISTS "isbn";');
    expect(sql).toContain('ALTER TABLE "lending_loans" ALTER COLUMN "renewals" TYPE TEXT USING "renewals"::TEXT;');
    expect(sql).toContain('-- DESTRUCTIVE (allowed):');

    // A dropped aggregate is a dropped table.
    const noMember = (y: string) => y.replace(/    - name: Member\n[\s\S]*?(?=    - name: Loan\n)/, '');
    expect(thrown(() => generate(library(noMember), workspace)).code).toBe('DESTRUCTIVE_CHANGE');
    expect([...migrations(generate(library(noMember), workspace, true)).values()].join('\n')).toContain('DROP TABLE IF EXISTS "lending_members";');
  });

  it('gives a schema made before versions existed its _version column, 1 for every existing row, in a new migration', () => {
    const workspace = new Map<string, string>();
    write(workspace, generate(library(), workspace));
    const snapshot = JSON.parse(workspace.get('migrations/schema.json')!) as { tables: Array<{ columns: Array<{ name: string }> }> };
    for (const table of snapshot.tables) table.columns = table.columns.filter((c) => c.name !== '_version');
    workspace.set('migrations/schema.json', JSON.stringify(snapshot));
    const after = migrations(generate(library(), workspace));
    expect([...after.keys()]).toEqual(['migrations/001_lending.sql', 'migrations/002_add_lending_loans__version_and_1_more.sql', 'migrations/schema.json']);
    const sql = after.get('migrations/002_add_lending_loans__version_and_1_more.sql')!;
    for (const table of ['lending_loans', 'lending_members']) {
      expect(sql).toContain(`ALTER TABLE "${table}" ADD COLUMN IF NOT EXISTS "_version" INTEGER NOT NULL DEFAULT 1;`);
    }
    expect(sql).not.toContain('no value');
  });

  it('reads back the 001 files of a project generated before the snapshot existed, and adds the change as 002', () => {
    const v1 = generate(library(), new Map()).filter((f) => f.path !== 'migrations/schema.json');
    const workspace = new Map<string, string>();
    write(workspace, v1);
    const old001 = workspace.get('migrations/001_lending.sql')!;
    // The fresh 001 equals the old one: nothing to evolve, the snapshot is simply added.
    expect([...migrations(generate(library(), workspace)).keys()]).toEqual(['migrations/001_lending.sql', 'migrations/schema.json']);
    const after = migrations(generate(library(v2), workspace));
    expect(after.get('migrations/001_lending.sql')).toBe(old001);
    const sql = after.get([...after.keys()][1]!)!;
    expect([...after.keys()][1]).toBe('migrations/002_create_lending_reservations_and_3_more.sql');
    expect(sql).toContain('ADD COLUMN IF NOT EXISTS "returned_on" DATE;');
    expect(sql).toContain(`CHECK ("status" IN ('OPEN', 'RETURNED', 'LOST'))`);
    expect(sql).not.toContain('"lending_members"');
    // An old 001 edited past reading: refused rather than rewritten.
    workspace.set('migrations/001_lending.sql', old001.replace('"isbn" TEXT NOT NULL', '"isbn" VARCHAR(17) NOT NULL'));
    expect(thrown(() => generate(library(v2), workspace)).code).toBe('UNPROCESSABLE');
  });

  it('refuses a snapshot it cannot read instead of starting over', () => {
    const workspace = new Map([['migrations/schema.json', '{"format": 2}']]);
    const err = thrown(() => generate(library(), workspace));
    expect(err.code).toBe('UNPROCESSABLE');
    expect(err.message).toContain('migrations/schema.json');
  });
});

describe('typescript-http migrations on PostgreSQL', () => {
  const temps: string[] = [];
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
    await database?.drop();
  });

  it('applies v2 to a database made by v1: the new column exists, the old row is intact, the repository saves the new field', async () => {
    const workspace = new Map<string, string>();
    const first = generate(library(), workspace);
    write(workspace, first);
    const second = generate(library(v2), workspace);
    const schema = `mig_${process.pid}`;
    await database.db.query(`CREATE SCHEMA ${schema}`);
    const env = { ...process.env, DATABASE_URL: database.url, PG_FROM: createRequire(import.meta.url).resolve('pg'), SCHEMA: schema };
    const SCRIPT = `import { createRequire } from 'node:module';
import { applyMigrations } from './src/migrations.js';
import { createPostgresRepository } from './src/repositories/postgres.js';
import { aggregate } from './src/domain/lending/loan.js';
const pg = createRequire(process.env.PG_FROM)('pg');
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, options: '-c search_path=' + process.env.SCHEMA });
const applied = await applyMigrations(pool, new URL('./migrations/', import.meta.url));
const repository = createPostgresRepository(pool);
const loan = JSON.parse(process.env.LOAN);
if (loan.id) await repository.save(aggregate.table, loan);
const got = await repository.get(aggregate.table, process.env.GET);
const columns = (await pool.query("SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'lending_loans' ORDER BY ordinal_position", [process.env.SCHEMA])).rows;
await pool.end();
console.log(JSON.stringify({ applied, got, columns }));`;
    const run = (files: GeneratedFile[], loan: object, get: string) => {
      const dir = writeTemp(files, 'ts-migrations');
      temps.push(dir);
      writeFileSync(path.join(dir, 'check.mjs'), SCRIPT);
      const out = spawnSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...env, LOAN: JSON.stringify(loan), GET: get } });
      expect(out.status, `${out.stdout}\n${out.stderr}`).toBe(0);
      return JSON.parse(out.stdout);
    };
    const old = { id: '00000000-0000-4000-8000-000000000001', memberId: '00000000-0000-4000-8000-000000000002', isbn: '978-0-00-000000-2', dueOn: '2024-03-01', renewals: 0, status: 'OPEN' };
    try {
      const v1 = run(first, old, old.id);
      expect(v1.applied).toEqual(['001_lending.sql']);
      expect(v1.got).toEqual(old);

      const fresh = { ...old, id: '00000000-0000-4000-8000-000000000003', returnedOn: '2024-03-10', branch: 'North', status: 'LOST' };
      const v2run = run(second, fresh, fresh.id);
      expect(v2run.applied).toEqual([[...migrations(second).keys()][1]!.slice('migrations/'.length)]);
      expect(v2run.got).toEqual(fresh);
      expect(v2run.columns).toEqual(expect.arrayContaining([{ column_name: 'returned_on', is_nullable: 'YES' }, { column_name: 'branch', is_nullable: 'YES' }]));
      const again = run(second, {}, old.id);
      expect(again.applied).toEqual([]);
      expect(again.got).toMatchObject(old);
      const { rows } = await database.db.query(`SELECT count(*)::int AS n FROM ${schema}.lending_reservations`);
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await database.db.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });
});
