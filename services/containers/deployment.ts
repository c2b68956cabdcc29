/**
 * The deployment's identity on the Docker engine: every container, network and volume a sandbox gets is labelled
 * with it, so that what is ours (and only that) can be found again, e.g. by the orphan reaper.
 */
import type { Db } from '../../lib/db.js';
import { LABEL_DEPLOYMENT } from './sandbox-spec.js';
import * as store from './store.js';

export class DeploymentIdentity {
  private id: Promise<string> | undefined;

  constructor(private readonly db: Db) {}

  /** Read once from the database (every instance of the deployment shares it). */
  async labels(): Promise<Record<string, string>> {
    this.id ??= store.deploymentId(this.db).catch((err: unknown) => {
      this.id = undefined;
      throw err;
    });
    return { [LABEL_DEPLOYMENT]: await this.id };
  }
}
