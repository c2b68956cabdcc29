/**
 * PostgreSQL session advisory locks held for as long as their holder wants, on one dedicated connection: which
 * process of a deployment does a long-running job (watching a project's files, say), where project-lock.ts
 * serves one piece of work. A process that ends, or loses its connection, loses its locks with it, so another
 * can take them over; `onLost` tells the holder at once, and the next `tryLock` opens a new connection.
 */
import type { Db, DbClient } from './db.js';

export class LockSession {
  private client: DbClient | null = null;
  private connecting: Promise<DbClient> | null = null;
  private readonly held = new Set<string>();
  private closed = false;

  constructor(
    private readonly db: Db,
    /** The keys that were held when the connection was lost, and why. */
    private readonly onLost: (keys: string[], err: unknown) => void,
  ) {}

  /** Takes the lock of `key` (a 64-bit integer as text) if no other session holds it; true when held. */
  async tryLock(key: string): Promise<boolean> {
    if (this.held.has(key)) return true;
    const client = await this.connection();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
    if (rows[0]!.locked) this.held.add(key);
    return rows[0]!.locked;
  }

  async unlock(key: string): Promise<void> {
    if (!this.held.delete(key) || !this.client) return;
    const client = this.client;
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch((err: unknown) => this.lose(client, err));
  }

  holds(key: string): boolean {
    return this.held.has(key);
  }

  /**
   * Frees every lock of the session and ends its connection. The unlock runs first, so once this resolves
   * another session can take the locks; ending the connection alone frees them only when the server has
   * noticed, a moment later.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.held.clear();
    const client = this.client;
    this.client = null;
    if (!client) return;
    const err = await client.query('SELECT pg_advisory_unlock_all()').then(
      () => undefined,
      (e: unknown) => e,
    );
    // Closed rather than returned to the pool: a failed unlock must not hand locks on to the pool's next user.
    client.release(err instanceof Error ? err : true);
  }

  private connection(): Promise<DbClient> {
    if (this.closed) return Promise.reject(new Error('the lock session is closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.db
      .connect()
      .then((client) => {
        client.on('error', (err) => this.lose(client, err));
        if (this.closed) {
          client.release(true);
          throw new Error('the lock session is closed');
        }
        this.client = client;
        return client;
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }

  private lose(client: DbClient, err: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    client.release(err instanceof Error ? err : true);
    const keys = [...this.held];
    this.held.clear();
    this.onLost(keys, err);
  }
}
