/**
 * The Temporal client used by the API to start and query workflows. The connection is lazy: the API
 * starts (and reports Temporal "down" on /ready) while Temporal is still coming up.
 */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../lib/config.js';

export class TemporalClient {
  readonly connection: Connection;
  readonly client: Client;

  constructor(readonly config: Config['temporal']) {
    this.connection = Connection.lazy({ address: config.address });
    this.client = new Client({ connection: this.connection, namespace: config.namespace });
  }

  /** Throws unless the server answers within `timeoutMs`. */
  async check(timeoutMs = 2000): Promise<void> {
    await this.connection.withDeadline(Date.now() + timeoutMs, () =>
      this.connection.workflowService.getSystemInfo({}),
    );
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
