import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPool, type Db } from '../../lib/db.js';
import { migrate, type MigrationSource } from '../../lib/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
let sources: MigrationSource[];

async function source(service: string, files: Record<string, string>): Promise<MigrationSource> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `migrations-${service}-`));
  for (const [name, sql] of Object.entries(files)) await writeFile(path.join(dir, name), sql);
  return { service, dir };
}

async function tables(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'mig_%' ORDER BY tablename",
  );
  return rows.map((row) => row.tablename);
}

beforeEach(async () => {
  database = await createTestDatabase();
  sources = [
    await source('alpha', {
      '001_first.sql': 'CREATE TABLE mig_alpha (id int PRIMARY KEY);',
      '002_second.sql': 'ALTER TABLE mig_alpha ADD COLUMN name text;',
    }),
    await source('beta', { '001_refs.sql': 'CREATE TABLE mig_beta (alpha_id int REFERENCES mig_alpha (id));' }),
  ];
});
afterEach(async () => database?.drop());

describe('migrations', () => {
  it('applies every file in order and records each', async () => {
    const applied = await migrate(database.db, sources);
    expect(applied).toEqual(['alpha/001_first.sql', 'alpha/002_second.sql', 'beta/001_refs.sql']);
    expect(await tables(database.db)).toEqual(['mig_alpha', 'mig_beta']);
    const { rows } = await database.db.query(
      "SELECT service, version FROM schema_migrations WHERE service IN ('alpha', 'beta') ORDER BY service, version",
    );
    expect(rows).toEqual([
      { service: 'alpha', version: 1 },
      { service: 'alpha', version: 2 },
      { service: 'beta', version: 1 },
    ]);
  });

  it('does nothing the second time', async () => {
    await migrate(database.db, sources);
    expect(await migrate(database.db, sources)).toEqual([]);
  });

  it('is safe from two processes at once', async () => {
    const other = createPool(database.url, 2);
    try {
      const [a, b] = await Promise.all([migrate(database.db, sources), migrate(other, sources)]);
      expect([...a, ...b].sort()).toEqual(['alpha/001_first.sql', 'alpha/002_second.sql', 'beta/001_refs.sql']);
      expect(await tables(database.db)).toEqual(['mig_alpha', 'mig_beta']);
    } finally {
      await other.end();
    }
  });

  it('rolls back a failing migration whole and stops there', async () => {
    const broken = await source('gamma', {
      '001_half.sql': 'CREATE TABLE mig_gamma (id int); INSERT INTO no_such_table VALUES (1);',
      '002_after.sql': 'CREATE TABLE mig_gamma_after (id int);',
    });
    await expect(migrate(database.db, [...sources, broken])).rejects.toThrow(/gamma\/001_half\.sql failed/);
    expect(await tables(database.db)).toEqual(['mig_alpha', 'mig_beta']);
    const { rowCount } = await database.db.query("SELECT 1 FROM schema_migrations WHERE service = 'gamma'");
    expect(rowCount).toBe(0);
  });

  it('refuses a migration edited after it was applied', async () => {
    await migrate(database.db, sources);
    await writeFile(path.join(sources[0]!.dir, '001_first.sql'), 'CREATE TABLE mig_alpha (id bigint PRIMARY KEY);');
    await expect(migrate(database.db, sources)).rejects.toThrow(/changed after it was applied/);
  });

  it('refuses a badly named file', async () => {
    const odd = await source('delta', { 'first.sql': 'SELECT 1;' });
    await expect(migrate(database.db, [odd])).rejects.toThrow(/must be named like 001_name\.sql/);
  });
});
