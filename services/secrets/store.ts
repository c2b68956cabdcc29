/** SQL of the secrets service: secrets (sealed), the audit log. */
import type { Queryable } from '../../lib/db.js';

export type Owner = { projectId: string } | { userId: string };

export interface SecretRow {
  id: string;
  project_id: string | null;
  user_id: string | null;
  name: string;
  description: string;
  ciphertext: Buffer;
  wrapped_key: Buffer;
  key_id: string;
  fingerprint: string;
  value_bytes: number;
  created_at: Date;
  updated_at: Date;
}

function ownerWhere(owner: Owner, first: number): { sql: string; value: string } {
  return 'projectId' in owner
    ? { sql: `project_id = $${first}`, value: owner.projectId }
    : { sql: `user_id = $${first}`, value: owner.userId };
}

export async function listSecrets(db: Queryable, owner: Owner): Promise<SecretRow[]> {
  const where = ownerWhere(owner, 1);
  const { rows } = await db.query<SecretRow>(`SELECT * FROM secrets WHERE ${where.sql} ORDER BY name`, [where.value]);
  return rows;
}

export async function findSecret(db: Queryable, owner: Owner, name: string, lock = false): Promise<SecretRow | undefined> {
  const where = ownerWhere(owner, 1);
  const { rows } = await db.query<SecretRow>(
    `SELECT * FROM secrets WHERE ${where.sql} AND name = $2${lock ? ' FOR UPDATE' : ''}`,
    [where.value, name],
  );
  return rows[0];
}

export async function ownerTotals(db: Queryable, owner: Owner): Promise<{ count: number; bytes: number }> {
  const where = ownerWhere(owner, 1);
  const { rows } = await db.query<{ count: string; bytes: string | null }>(
    `SELECT count(*) AS count, sum(value_bytes) AS bytes FROM secrets WHERE ${where.sql}`,
    [where.value],
  );
  return { count: Number(rows[0]!.count), bytes: Number(rows[0]!.bytes ?? 0) };
}

export async function insertSecret(
  db: Queryable,
  row: Pick<SecretRow, 'id' | 'name' | 'description' | 'ciphertext' | 'wrapped_key' | 'key_id' | 'fingerprint' | 'value_bytes'> & {
    owner: Owner;
    by: string;
  },
): Promise<SecretRow> {
  const { rows } = await db.query<SecretRow>(
    `INSERT INTO secrets (id, project_id, user_id, name, description, ciphertext, wrapped_key, key_id, fingerprint, value_bytes, created_by, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *`,
    [
      row.id,
      'projectId' in row.owner ? row.owner.projectId : null,
      'userId' in row.owner ? row.owner.userId : null,
      row.name,
      row.description,
      row.ciphertext,
      row.wrapped_key,
      row.key_id,
      row.fingerprint,
      row.value_bytes,
      row.by,
    ],
  );
  return rows[0]!;
}

export async function updateSecret(
  db: Queryable,
  id: string,
  change: { description?: string; sealed?: Pick<SecretRow, 'ciphertext' | 'wrapped_key' | 'key_id' | 'fingerprint' | 'value_bytes'>; by: string },
): Promise<SecretRow> {
  const { rows } = await db.query<SecretRow>(
    `UPDATE secrets SET
       description = coalesce($2, description),
       ciphertext = coalesce($3, ciphertext),
       wrapped_key = coalesce($4, wrapped_key),
       key_id = coalesce($5, key_id),
       fingerprint = coalesce($6, fingerprint),
       value_bytes = coalesce($7, value_bytes),
       updated_by = $8,
       updated_at = now()
     WHERE id = $1 RETURNING *`,
    [
      id,
      change.description ?? null,
      change.sealed?.ciphertext ?? null,
      change.sealed?.wrapped_key ?? null,
      change.sealed?.key_id ?? null,
      change.sealed?.fingerprint ?? null,
      change.sealed?.value_bytes ?? null,
      change.by,
    ],
  );
  return rows[0]!;
}

export async function deleteSecret(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM secrets WHERE id = $1', [id]);
}

export type AuditAction = 'created' | 'updated' | 'deleted' | 'used';

export interface AuditEntry {
  owner: Owner;
  secretId: string | null;
  secretName: string;
  action: AuditAction;
  actorKind: string;
  actorId: string | null;
  context: string | null;
}

export async function insertAudit(db: Queryable, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const values: unknown[] = [];
  const tuples = entries.map((entry, i) => {
    values.push(
      'projectId' in entry.owner ? entry.owner.projectId : null,
      'userId' in entry.owner ? entry.owner.userId : null,
      entry.secretId,
      entry.secretName,
      entry.action,
      entry.actorKind,
      entry.actorId,
      entry.context,
    );
    const at = i * 8;
    return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, $${at + 6}, $${at + 7}, $${at + 8})`;
  });
  await db.query(
    `INSERT INTO secret_audit (project_id, user_id, secret_id, secret_name, action, actor_kind, actor_id, context) VALUES ${tuples.join(', ')}`,
    values,
  );
}

export interface AuditRow {
  id: string;
  secret_name: string;
  action: AuditAction;
  actor_kind: string;
  actor_id: string | null;
  context: string | null;
  at: Date;
}

export async function listAudit(db: Queryable, owner: Owner, options: { limit: number; before?: number | undefined }): Promise<AuditRow[]> {
  const where = ownerWhere(owner, 1);
  const { rows } = await db.query<AuditRow>(
    `SELECT id, secret_name, action, actor_kind, actor_id, context, at FROM secret_audit
     WHERE ${where.sql} AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [where.value, options.before ?? null, options.limit],
  );
  return rows;
}
