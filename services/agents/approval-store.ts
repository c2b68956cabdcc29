/** SQL of the projects' approval policies (the agent_approval_policies table). */
import type { Queryable } from '../../lib/db.js';

export async function selectPolicy(db: Queryable, projectId: string): Promise<unknown | undefined> {
  const { rows } = await db.query<{ policy: unknown }>('SELECT policy FROM agent_approval_policies WHERE project_id = $1', [projectId]);
  return rows[0]?.policy;
}

export async function upsertPolicy(db: Queryable, projectId: string, policy: unknown, updatedBy: string): Promise<void> {
  await db.query(
    `INSERT INTO agent_approval_policies (project_id, policy, updated_by) VALUES ($1, $2, $3)
     ON CONFLICT (project_id) DO UPDATE SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = now()`,
    [projectId, JSON.stringify(policy), updatedBy],
  );
}
