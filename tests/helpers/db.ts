/** Each test file gets its own database, cloned from the migrated template in an instant. */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createPool, type Db } from '../../lib/db.js';

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const templateUrl = inject('templateDatabaseUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = createPool(withDatabase(templateUrl, 'postgres'), 1);
  await admin.query(`CREATE DATABASE ${name} TEMPLATE vf_template`);
  const url = withDatabase(templateUrl, name);
  const db = createPool(url, 10);
  // A clone is a deployment of its own: the template's id would make one test's orphan reaper see the others'
  // sandboxes (projects its database does not know) as orphans.
  await db.query('UPDATE deployment SET id = gen_random_uuid()');
  return {
    url,
    db,
    async drop() {
      await db.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
