/**
 * Migrations: numbered SQL files per service (`services/<name>/migrations/001_init.sql`), applied in order,
 * each inside its own transaction, recorded in `schema_migrations`. An advisory lock makes two processes
 * starting at once take turns; a second run finds nothing to do.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from './db.js';

export interface MigrationSource {
  service: string;
  dir: string;
}

interface Migration {
  service: string;
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Any fixed number: it only has to be the same in every process that migrates this database. */
const MIGRATION_LOCK_KEY = 0x7a9f0f01;
const FILE_PATTERN = /^(\d{3})_([a-z0-9_]+)\.sql$/;

async function readMigrations(source: MigrationSource): Promise<Migration[]> {
  let names: string[];
  try {
    names = await readdir(source.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const migrations: Migration[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.sql')) continue;
    const match = FILE_PATTERN.exec(name);
    if (!match) throw new Error(`migration file ${source.service}/${name} must be named like 001_name.sql`);
    const sql = await readFile(path.join(source.dir, name), 'utf8');
    migrations.push({
      service: source.service,
      version: Number(match[1]),
      name,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new Error(`two migrations of ${source.service} share number ${migrations[i]!.version}`);
    }
  }
  return migrations;
}

/** Applies what is pending, in the order of `sources`, then of file numbers. Returns the names applied. */
export async function migrate(db: Db, sources: MigrationSource[]): Promise<string[]> {
  const all = (await Promise.all(sources.map(readMigrations))).flat();
  const client = await db.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        service    text        NOT NULL,
        version    integer     NOT NULL,
        name       text        NOT NULL,
        checksum   text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (service, version)
      )`);
    const { rows } = await client.query<{ service: string; version: number; checksum: string }>(
      'SELECT service, version, checksum FROM schema_migrations',
    );
    const done = new Map(rows.map((row) => [`${row.service}/${row.version}`, row.checksum]));
    for (const migration of all) {
      const recorded = done.get(`${migration.service}/${migration.version}`);
      if (recorded !== undefined) {
        if (recorded !== migration.checksum) {
          throw new Error(
            `migration ${migration.service}/${migration.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      try {
        await client.query('BEGIN');
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO schema_migrations (service, version, name, checksum) VALUES ($1, $2, $3, $4)',
          [migration.service, migration.version, migration.name, migration.checksum],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${migration.service}/${migration.name} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      applied.push(`${migration.service}/${migration.name}`);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
}
