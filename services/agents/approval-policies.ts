/**
 * A project's approval policy for its agent runs: read by anyone who may read the project, changed by its
 * admins, kept in PostgreSQL (no row: the default). The worker reads it for a run without an access check
 * (the run's start was checked).
 */
import type { Permission, Principal } from '../../lib/access.js';
import type { Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { selectPolicy, upsertPolicy } from './approval-store.js';
import { normalizePolicy, type ApprovalPolicy } from './tools/approval.js';

export type AuthorizeProject = (principal: Principal, projectId: string, permission: Permission) => Promise<unknown>;

export class ApprovalPolicies {
  constructor(private readonly deps: { db: Db; authorize: AuthorizeProject }) {}

  async get(principal: Principal, projectId: string): Promise<ApprovalPolicy> {
    await this.deps.authorize(principal, projectId, 'read');
    return this.forRun(projectId);
  }

  /** Replaces the policy (fields left out take their defaults). */
  async set(principal: Principal, projectId: string, input: Partial<ApprovalPolicy>): Promise<ApprovalPolicy> {
    await this.deps.authorize(principal, projectId, 'admin');
    const policy = normalizePolicy(input);
    for (const key of Object.keys(input) as Array<keyof ApprovalPolicy>) {
      if (!(key in policy) || policy[key] !== input[key]) {
        throw new AppError('VALIDATION_FAILED', `Invalid ${String(key)}: mode is destructive, all or none; counts are whole numbers from 0 to 10000`, { field: key });
      }
    }
    await upsertPolicy(this.deps.db, projectId, policy, principal.userId);
    return policy;
  }

  /** The policy a run of the project follows. */
  async forRun(projectId: string): Promise<ApprovalPolicy> {
    return normalizePolicy(await selectPolicy(this.deps.db, projectId));
  }
}
