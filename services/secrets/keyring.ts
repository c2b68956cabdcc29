/**
 * The master keys a server holds (VAPORFORM_MASTER_KEY, and VAPORFORM_MASTER_KEY_PREVIOUS during a rotation),
 * checked against what the database knows before any is used. A server that lacks a key some secret needs does
 * not start: nothing is written with a wrong key, nothing is lost.
 */
import type { Config } from '../../lib/config.js';
import type { Db, Queryable } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { checkValue, masterKeyId, verifyCheckValue } from './envelope.js';

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

interface KeyRow {
  id: string;
  check_value: Buffer;
  state: 'current' | 'active' | 'retired';
}

export class Keyring {
  private constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    /** The id of VAPORFORM_MASTER_KEY. */
    readonly configuredId: string,
  ) {}

  /** Verifies the configured keys against the database and registers a key it has not seen (as current on a new database). */
  static async open(db: Db, settings: Config['secrets']): Promise<Keyring> {
    const configured = [settings.masterKey, ...settings.previousMasterKeys];
    const keys = new Map(configured.map((key) => [masterKeyId(key), key]));
    const configuredId = masterKeyId(settings.masterKey);
    const known = async () => new Map((await db.query<KeyRow>('SELECT id, check_value, state FROM secret_master_keys')).rows.map((row) => [row.id, row]));
    let rows = await known();
    for (const [id, key] of keys) {
      const row = rows.get(id);
      if (row && !verifyCheckValue(key, row.check_value)) {
        throw new MasterKeyError(`master key ${id} does not open its stored check value: the secrets tables were tampered with, or the key is not the one registered`);
      }
    }
    // Checked before anything is written: a wrong key leaves no trace.
    const { rows: used } = await db.query<{ key_id: string }>('SELECT DISTINCT key_id FROM secrets');
    const current = [...rows.values()].find((row) => row.state === 'current');
    const needed = new Set([...used.map((row) => row.key_id), ...(current ? [current.id] : [])]);
    const missing = [...needed].filter((id) => !keys.has(id));
    if (missing.length > 0) {
      throw new MasterKeyError(
        `wrong master key: this database's secrets need master key(s) ${missing.join(', ')}, but VAPORFORM_MASTER_KEY is ${configuredId}` +
          (settings.previousMasterKeys.length > 0 ? ` and VAPORFORM_MASTER_KEY_PREVIOUS holds ${settings.previousMasterKeys.map(masterKeyId).join(', ')}` : '') +
          '. Start with the key the secrets were stored with (during a rotation: the new key in VAPORFORM_MASTER_KEY, the old one in VAPORFORM_MASTER_KEY_PREVIOUS). Nothing was changed.',
      );
    }
    if (!rows.has(configuredId)) {
      // The first server of a database makes its key current; a later new key waits, active, for the rotation.
      const hasCurrent = [...rows.values()].some((row) => row.state === 'current');
      await db.query(
        `INSERT INTO secret_master_keys (id, check_value, state) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING`,
        [configuredId, checkValue(settings.masterKey), hasCurrent ? 'active' : 'current'],
      );
      rows = await known();
      if (!rows.has(configuredId)) {
        // Another server registered a different key as current at the same moment.
        await db.query(`INSERT INTO secret_master_keys (id, check_value, state) VALUES ($1, $2, 'active') ON CONFLICT DO NOTHING`, [
          configuredId,
          checkValue(settings.masterKey),
        ]);
        rows = await known();
      }
      const winner = [...rows.values()].find((row) => row.state === 'current');
      if (winner && !keys.has(winner.id)) {
        throw new MasterKeyError(`wrong master key: another server set this database up with master key ${winner.id} at the same moment; VAPORFORM_MASTER_KEY is ${configuredId}`);
      }
    }
    return new Keyring(keys, configuredId);
  }

  key(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key) throw new AppError('SERVICE_UNAVAILABLE', `This server does not hold master key ${id}: restart it with the keys of the rotation`);
    return key;
  }

  /**
   * The current master key, its row share-locked for the caller's transaction: a rotation switching keys waits for
   * the write, and a write after the switch sees the new key (never a data key wrapped by a key being retired).
   */
  async current(tx: Queryable): Promise<{ id: string; key: Buffer }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await tx.query<{ id: string }>(`SELECT id FROM secret_master_keys WHERE state = 'current' FOR SHARE`);
      // Empty when a rotation switched keys while this waited for the lock: a new statement sees the new one.
      if (rows[0]) return { id: rows[0].id, key: this.key(rows[0].id) };
    }
    throw new AppError('SERVICE_UNAVAILABLE', 'No current master key: is a rotation stuck?');
  }
}
