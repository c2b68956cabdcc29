/**
 * Master key rotation, while servers run. Before: every server runs with the new key in VAPORFORM_MASTER_KEY and
 * the old one in VAPORFORM_MASTER_KEY_PREVIOUS (so each can read rows under either). Then this makes the new key
 * current (new writes use it), re-wraps each data key under it one row at a time (a row is always under a key
 * every server holds), recomputes the fingerprints, and retires the old keys once no row needs them.
 */
import type { Config } from '../../lib/config.js';
import { withTransaction, type Db } from '../../lib/db.js';
import { fingerprint, masterKeyId, openSecret, rewrapKey } from './envelope.js';
import { Keyring } from './keyring.js';
import type { SecretRow } from './store.js';

export interface RotationReport {
  currentKeyId: string;
  rewrapped: number;
  retiredKeyIds: string[];
}

const BATCH = 100;

export async function rotateMasterKey(db: Db, keys: Config['secrets'], log: (line: string) => void = () => {}): Promise<RotationReport> {
  const keyring = await Keyring.open(db, keys);
  const newId = masterKeyId(keys.masterKey);
  // The switch waits for writes holding the current key's row (Keyring.current) and is seen by every write after.
  await withTransaction(db, async (tx) => {
    await tx.query(`UPDATE secret_master_keys SET state = 'active' WHERE state = 'current' AND id <> $1`, [newId]);
    await tx.query(`UPDATE secret_master_keys SET state = 'current', retired_at = NULL WHERE id = $1`, [newId]);
  });
  log(`master key ${newId} is current`);
  let rewrapped = 0;
  for (;;) {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM secrets WHERE key_id <> $1 ORDER BY id LIMIT $2', [newId, BATCH]);
    if (rows.length === 0) break;
    for (const { id } of rows) {
      await withTransaction(db, async (tx) => {
        const { rows: locked } = await tx.query<SecretRow>('SELECT * FROM secrets WHERE id = $1 AND key_id <> $2 FOR UPDATE', [id, newId]);
        const row = locked[0];
        // Deleted, or given a new value under the new key, since the batch was read.
        if (!row) return;
        const old = keyring.key(row.key_id);
        const owner = row.project_id ? { projectId: row.project_id } : { userId: row.user_id! };
        const value = openSecret(old, row.id, owner, { ciphertext: row.ciphertext, wrappedKey: row.wrapped_key });
        await tx.query('UPDATE secrets SET wrapped_key = $2, key_id = $3, fingerprint = $4 WHERE id = $1', [
          row.id,
          rewrapKey(old, keys.masterKey, row.id, row.wrapped_key),
          newId,
          fingerprint(keys.masterKey, value),
        ]);
        rewrapped++;
      });
    }
    log(`${rewrapped} data key(s) re-wrapped`);
  }
  const { rows: retired } = await db.query<{ id: string }>(
    `UPDATE secret_master_keys k SET state = 'retired', retired_at = now()
     WHERE k.state = 'active' AND NOT EXISTS (SELECT 1 FROM secrets s WHERE s.key_id = k.id) RETURNING id`,
  );
  const retiredKeyIds = retired.map((row) => row.id);
  if (retiredKeyIds.length > 0) log(`retired master key(s) ${retiredKeyIds.join(', ')}: VAPORFORM_MASTER_KEY_PREVIOUS may now be dropped`);
  return { currentKeyId: newId, rewrapped, retiredKeyIds };
}
