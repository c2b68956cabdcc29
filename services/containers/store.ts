/** SQL of the containers service: one sandbox row per project, with its state and last use. */
import type { Queryable } from '../../lib/db.js';

export type SandboxState = 'created' | 'running' | 'paused' | 'stopped';

export interface SandboxRow {
  project_id: string;
  container_id: string | null;
  image: string;
  state: SandboxState;
  last_used_at: Date;
}

const COLUMNS = 'project_id, container_id, image, state, last_used_at';

export async function findSandbox(db: Queryable, projectId: string): Promise<SandboxRow | undefined> {
  const { rows } = await db.query<SandboxRow>(`SELECT ${COLUMNS} FROM sandboxes WHERE project_id = $1`, [projectId]);
  return rows[0];
}

export async function upsertSandbox(
  db: Queryable,
  sandbox: { projectId: string; containerId: string; image: string; state: SandboxState },
): Promise<void> {
  await db.query(
    `INSERT INTO sandboxes (project_id, container_id, image, state) VALUES ($1, $2, $3, $4)
     ON CONFLICT (project_id) DO UPDATE
       SET container_id = EXCLUDED.container_id, image = EXCLUDED.image, state = EXCLUDED.state,
           last_used_at = now(), updated_at = now()`,
    [sandbox.projectId, sandbox.containerId, sandbox.image, sandbox.state],
  );
}

export async function setState(db: Queryable, projectId: string, state: SandboxState): Promise<void> {
  await db.query('UPDATE sandboxes SET state = $2, updated_at = now() WHERE project_id = $1', [projectId, state]);
}

/** Marks use; cheap enough for every exec or file call. */
export async function touch(db: Queryable, projectId: string): Promise<void> {
  await db.query('UPDATE sandboxes SET last_used_at = now() WHERE project_id = $1', [projectId]);
}

export async function idleSandboxes(
  db: Queryable,
  state: SandboxState,
  idleForMs: number,
): Promise<Array<{ project_id: string }>> {
  const { rows } = await db.query<{ project_id: string }>(
    `SELECT project_id FROM sandboxes
      WHERE state = $1 AND last_used_at < now() - ($2::double precision * interval '1 millisecond')`,
    [state, idleForMs],
  );
  return rows;
}

export async function deleteSandbox(db: Queryable, projectId: string): Promise<void> {
  await db.query('DELETE FROM sandboxes WHERE project_id = $1', [projectId]);
}
