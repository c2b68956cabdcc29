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

/** State and last use of some projects' sandboxes; a project without a sandbox has no row. */
export async function sandboxActivity(
  db: Queryable,
  projectIds: string[],
): Promise<Array<{ project_id: string; state: SandboxState; last_used_at: Date }>> {
  const { rows } = await db.query<{ project_id: string; state: SandboxState; last_used_at: Date }>(
    'SELECT project_id, state, last_used_at FROM sandboxes WHERE project_id = ANY($1::uuid[])',
    [projectIds],
  );
  return rows;
}

export async function deleteSandbox(db: Queryable, projectId: string): Promise<void> {
  await db.query('DELETE FROM sandboxes WHERE project_id = $1', [projectId]);
}

export interface PreviewHostRow {
  label: string;
  project_id: string;
  user_id: string;
}

/** The person's preview label for the project: the existing one, or `label` stored as new. */
export async function ensurePreviewHost(db: Queryable, projectId: string, userId: string, label: string): Promise<string> {
  const { rows } = await db.query<{ label: string }>(
    `INSERT INTO preview_hosts (label, project_id, user_id) VALUES ($1, $2, $3)
     ON CONFLICT (project_id, user_id) DO UPDATE SET project_id = EXCLUDED.project_id
     RETURNING label`,
    [label, projectId, userId],
  );
  return rows[0]!.label;
}

export async function findPreviewHost(db: Queryable, label: string): Promise<PreviewHostRow | undefined> {
  const { rows } = await db.query<PreviewHostRow>('SELECT label, project_id, user_id FROM preview_hosts WHERE label = $1', [
    label,
  ]);
  return rows[0];
}

export async function deletePreviewHost(db: Queryable, projectId: string, userId: string): Promise<void> {
  await db.query('DELETE FROM preview_hosts WHERE project_id = $1 AND user_id = $2', [projectId, userId]);
}

export async function deploymentId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM deployment');
  if (!rows[0]) throw new Error('the deployment table is empty: migrations did not run');
  return rows[0].id;
}
