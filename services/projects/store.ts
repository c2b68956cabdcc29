/** SQL of the projects service: projects and their members. */
import type { Queryable } from '../../lib/db.js';
import type { Role } from '../../lib/access.js';

export type Stack = 'node' | 'python' | 'go';
export type ProjectStatus = 'active' | 'archived';

export interface ProjectRow {
  id: string;
  created_by: string;
  name: string;
  slug: string;
  description: string;
  stack: Stack;
  status: ProjectStatus;
  preview_port: number;
  service_postgres: boolean;
  service_redis: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface ProjectWithRoleRow extends ProjectRow {
  role: Role;
}

export interface MemberRow {
  user_id: string;
  role: Role;
  created_at: Date;
}

const PROJECT_COLUMNS =
  'p.id, p.created_by, p.name, p.slug, p.description, p.stack, p.status, p.preview_port, p.service_postgres, p.service_redis, p.created_at, p.updated_at';

export async function insertProject(
  db: Queryable,
  project: { createdBy: string; name: string; slug: string; description: string; stack: Stack; servicePostgres: boolean; serviceRedis: boolean },
): Promise<ProjectRow> {
  const { rows } = await db.query<ProjectRow>(
    `INSERT INTO projects AS p (created_by, name, slug, description, stack, service_postgres, service_redis)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING ${PROJECT_COLUMNS}`,
    [project.createdBy, project.name, project.slug, project.description, project.stack, project.servicePostgres, project.serviceRedis],
  );
  return rows[0]!;
}

export async function slugsLike(db: Queryable, createdBy: string, base: string): Promise<Set<string>> {
  const { rows } = await db.query<{ slug: string }>(
    `SELECT slug FROM projects WHERE created_by = $1 AND (slug = $2 OR slug LIKE $3)`,
    [createdBy, base, `${base}-%`],
  );
  return new Set(rows.map((row) => row.slug));
}

/** The project with the role `userId` holds in it; undefined when it does not exist or they are no member. */
export async function findProjectForMember(
  db: Queryable,
  projectId: string,
  userId: string,
): Promise<ProjectWithRoleRow | undefined> {
  // Named, so PostgreSQL plans it once per connection: it runs on every project-scoped request.
  const { rows } = await db.query<ProjectWithRoleRow>({
    name: 'projects.find-for-member',
    text: `SELECT ${PROJECT_COLUMNS}, m.role
             FROM projects p JOIN project_members m ON m.project_id = p.id AND m.user_id = $2
            WHERE p.id = $1`,
    values: [projectId, userId],
  });
  return rows[0];
}

export interface PageCursor {
  createdAt: string;
  id: string;
}

export async function listProjectsOfMember(
  db: Queryable,
  userId: string,
  options: { limit: number; after?: PageCursor | undefined; onlyIds?: readonly string[] | null | undefined },
): Promise<Array<ProjectWithRoleRow & { cursor_at: string }>> {
  const params: unknown[] = [userId, options.limit];
  let where = 'm.user_id = $1';
  if (options.after) {
    params.push(options.after.createdAt, options.after.id);
    where += ` AND (p.created_at, p.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
  }
  if (options.onlyIds) {
    params.push(options.onlyIds);
    where += ` AND p.id = ANY($${params.length}::uuid[])`;
  }
  // cursor_at keeps the microseconds a JS Date would drop, so pages never skip or repeat a row.
  const { rows } = await db.query<ProjectWithRoleRow & { cursor_at: string }>(
    `SELECT ${PROJECT_COLUMNS}, m.role,
            to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
       FROM project_members m JOIN projects p ON p.id = m.project_id
      WHERE ${where}
      ORDER BY p.created_at DESC, p.id DESC
      LIMIT $2`,
    params,
  );
  return rows;
}

export async function visibleProjectIds(db: Queryable, userId: string, projectIds: string[]): Promise<string[]> {
  const { rows } = await db.query<{ project_id: string }>(
    'SELECT project_id FROM project_members WHERE user_id = $1 AND project_id = ANY($2::uuid[])',
    [userId, projectIds],
  );
  return rows.map((row) => row.project_id);
}

/** Which of the project's services are on; none for a project that does not exist. */
export async function projectServices(db: Queryable, projectId: string): Promise<Pick<ProjectRow, 'service_postgres' | 'service_redis'>> {
  const { rows } = await db.query<Pick<ProjectRow, 'service_postgres' | 'service_redis'>>(
    'SELECT service_postgres, service_redis FROM projects WHERE id = $1',
    [projectId],
  );
  return rows[0] ?? { service_postgres: false, service_redis: false };
}

/** Of `projectIds`, those that exist. */
export async function existingProjectIds(db: Queryable, projectIds: string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM projects WHERE id = ANY($1::uuid[])', [projectIds]);
  return rows.map((row) => row.id);
}

export async function updateProject(
  db: Queryable,
  projectId: string,
  patch: Partial<Pick<ProjectRow, 'name' | 'slug' | 'description' | 'stack' | 'status' | 'preview_port' | 'service_postgres' | 'service_redis'>>,
): Promise<ProjectRow> {
  const columns = Object.keys(patch) as Array<keyof typeof patch>;
  const sets = columns.map((column, i) => `${column} = $${i + 2}`);
  sets.push('updated_at = now()');
  const { rows } = await db.query<ProjectRow>(
    `UPDATE projects AS p SET ${sets.join(', ')} WHERE p.id = $1 RETURNING ${PROJECT_COLUMNS}`,
    [projectId, ...columns.map((column) => patch[column])],
  );
  return rows[0]!;
}

export async function deleteProject(db: Queryable, projectId: string): Promise<void> {
  await db.query('DELETE FROM projects WHERE id = $1', [projectId]);
}

export async function insertMember(db: Queryable, projectId: string, userId: string, role: Role): Promise<void> {
  await db.query('INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)', [
    projectId,
    userId,
    role,
  ]);
}

const MEMBER_COLUMNS = 'user_id, role, created_at';

export async function listMembers(db: Queryable, projectId: string): Promise<MemberRow[]> {
  const { rows } = await db.query<MemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = $1 ORDER BY created_at, user_id`,
    [projectId],
  );
  return rows;
}

/** Locks the member row so that two role changes cannot both remove the last owner. */
export async function lockMember(db: Queryable, projectId: string, userId: string): Promise<MemberRow | undefined> {
  const { rows } = await db.query<MemberRow>(
    `SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project_id = $1 AND user_id = $2 FOR UPDATE`,
    [projectId, userId],
  );
  return rows[0];
}

export async function lockOwners(db: Queryable, projectId: string): Promise<string[]> {
  const { rows } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM project_members WHERE project_id = $1 AND role = 'owner' FOR UPDATE`,
    [projectId],
  );
  return rows.map((row) => row.user_id);
}

export async function updateMemberRole(db: Queryable, projectId: string, userId: string, role: Role): Promise<void> {
  await db.query('UPDATE project_members SET role = $3 WHERE project_id = $1 AND user_id = $2', [
    projectId,
    userId,
    role,
  ]);
}

export async function deleteMember(db: Queryable, projectId: string, userId: string): Promise<void> {
  await db.query('DELETE FROM project_members WHERE project_id = $1 AND user_id = $2', [projectId, userId]);
}
