/** SQL of the auth service: users, refresh tokens, API keys. */
import type { Queryable } from '../../lib/db.js';
import type { Permission } from '../../lib/access.js';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: Date;
}

export interface RefreshTokenRow {
  id: string;
  user_id: string;
  family_id: string;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

export interface ApiKeyRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  key_hash: Buffer;
  permissions: Permission[];
  project_ids: string[] | null;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

export async function insertUser(db: Queryable, email: string, name: string, passwordHash: string): Promise<UserRow> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)
     RETURNING id, email, name, password_hash, created_at`,
    [email, name, passwordHash],
  );
  return rows[0]!;
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    'SELECT id, email, name, password_hash, created_at FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  return rows[0];
}

export async function findUserById(db: Queryable, id: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(
    'SELECT id, email, name, password_hash, created_at FROM users WHERE id = $1',
    [id],
  );
  return rows[0];
}

export async function findUsersByIds(db: Queryable, ids: readonly string[]): Promise<UserRow[]> {
  const { rows } = await db.query<UserRow>(
    'SELECT id, email, name, password_hash, created_at FROM users WHERE id = ANY($1::uuid[])',
    [ids],
  );
  return rows;
}

export async function insertRefreshToken(
  db: Queryable,
  userId: string,
  familyId: string,
  tokenHash: Buffer,
  expiresAt: Date,
): Promise<void> {
  await db.query(
    'INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)',
    [userId, familyId, tokenHash, expiresAt],
  );
}

/** Locks the row: two refreshes racing with one token must not both succeed. */
export async function lockRefreshToken(db: Queryable, tokenHash: Buffer): Promise<RefreshTokenRow | undefined> {
  const { rows } = await db.query<RefreshTokenRow>(
    `SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at
       FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
    [tokenHash],
  );
  return rows[0];
}

export async function markRefreshTokenRotated(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1', [id]);
}

export async function revokeRefreshFamily(db: Queryable, familyId: string): Promise<void> {
  await db.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [
    familyId,
  ]);
}

/** A session (a refresh token family) is live until it is revoked (logout, reuse) or its last token expires. */
export async function sessionIsLive(db: Queryable, familyId: string): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL AND expires_at > now() LIMIT 1',
    [familyId],
  );
  return rows.length > 0;
}

export async function revokeAllRefreshTokensOfUser(db: Queryable, userId: string): Promise<void> {
  await db.query('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
}

const API_KEY_COLUMNS = `id, user_id, name, prefix, key_hash, permissions, project_ids, expires_at, last_used_at,
  revoked_at, created_at`;

export async function insertApiKey(
  db: Queryable,
  key: {
    userId: string;
    name: string;
    prefix: string;
    hash: Buffer;
    permissions: Permission[];
    projectIds: string[] | null;
    expiresAt: Date | null;
  },
): Promise<ApiKeyRow> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (user_id, name, prefix, key_hash, permissions, project_ids, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${API_KEY_COLUMNS}`,
    [key.userId, key.name, key.prefix, key.hash, key.permissions, key.projectIds, key.expiresAt],
  );
  return rows[0]!;
}

export async function findApiKeyByPrefix(db: Queryable, prefix: string): Promise<ApiKeyRow | undefined> {
  const { rows } = await db.query<ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE prefix = $1`, [prefix]);
  return rows[0];
}

export async function findApiKeyById(db: Queryable, id: string): Promise<ApiKeyRow | undefined> {
  const { rows } = await db.query<ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]);
  return rows[0];
}

export async function listApiKeys(db: Queryable, userId: string): Promise<ApiKeyRow[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC`,
    [userId],
  );
  return rows;
}

/** Returns false when the user has no such key (or it was revoked already). */
export async function revokeApiKey(db: Queryable, userId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL',
    [id, userId],
  );
  return rowCount === 1;
}

export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [id]);
}
