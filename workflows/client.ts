/**
 * The Temporal client used by the API to start and query workflows. The connection is lazy: the API
 * starts (and reports Temporal "down" on /ready) while Temporal is still coming up.
 */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../lib/config.js';

export class TemporalClient {
  readonly connection: Connection;
  readonly client: Client;
  /** Checks still running: gRPC retries them on timers, which must not fire on a closed channel. */
  private readonly checks = new Set<Promise<unknown>>();

  constructor(readonly config: Config['temporal']) {
    this.connection = Connection.lazy({ address: config.address });
    this.client = new Client({ connection: this.connection, namespace: config.namespace });
  }

  /** Throws unless the server answers within `timeoutMs`. */
  async check(timeoutMs = 2000): Promise<void> {
    const call = this.connection.withDeadline(Date.now() + timeoutMs, () =>
      this.connection.workflowService.getSystemInfo({}),
    );
    this.checks.add(call);
    try {
      await call;
    } finally {
      this.checks.delete(call);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.checks]);
    await this.connection.close();
  }
}
