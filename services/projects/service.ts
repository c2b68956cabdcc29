/** Projects and their ACL: who may read, write, execute in and administer a project. */
import { actorOf, effectivePermissions, type Permission, type Principal, type Role } from '../../lib/access.js';
import { isUniqueViolation, withTransaction, type Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { makeEvent, type EventBus } from '../../lib/event-bus.js';
import { firstFreeSlug, slugify } from './slugs.js';
import * as store from './store.js';

export type { Stack, ProjectStatus } from './store.js';

export interface Project {
  id: string;
  name: string;
  slug: string;
  description: string;
  stack: store.Stack;
  status: store.ProjectStatus;
  /** The port inside the sandbox that the preview serves. */
  previewPort: number;
  /** What Vaporform runs beside the sandbox for the project's app. */
  services: ProjectServices;
  createdAt: string;
  updatedAt: string;
  /** The caller's role, and what the caller may do here (an API key may narrow it). */
  role: Role;
  permissions: Permission[];
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: string;
}

export interface ProjectPage {
  items: Project[];
  nextCursor: string | null;
}

/** Services Vaporform runs for a project's app, on the project's network only. */
export interface ProjectServices {
  /** A PostgreSQL of its own: DATABASE_URL and PG* in every command's environment. */
  postgres: boolean;
  /** A Redis of its own: REDIS_URL and REDIS_HOST/_PORT/_PASSWORD in every command's environment. */
  redis: boolean;
}

export interface NewProject {
  name: string;
  slug?: string | undefined;
  description?: string | undefined;
  stack: store.Stack;
  services?: Partial<ProjectServices> | undefined;
}

export type ProjectPatch = Partial<Pick<NewProject, 'name' | 'slug' | 'description' | 'stack' | 'services'>> & {
  status?: store.ProjectStatus | undefined;
  previewPort?: number | undefined;
};

/** Runs after a project's `services` setting changed (start or remove its containers, say). */
export type ProjectServicesHook = (projectId: string, services: ProjectServices) => Promise<void>;

/** How the projects service names people; the auth service provides it. */
export interface UserDirectory {
  findUserByEmail(email: string): Promise<{ id: string; email: string; name: string } | undefined>;
  findUsersByIds(ids: readonly string[]): Promise<Array<{ id: string; email: string; name: string }>>;
}

/** Runs before a project's row is deleted (tear down its sandbox, say); a failure stops the deletion. */
export type ProjectDeleteHook = (projectId: string) => Promise<void>;

export interface ProjectsServiceDeps {
  db: Db;
  bus: EventBus;
  users: UserDirectory;
}

const MAX_SLUG_ATTEMPTS = 5;

function toProject(row: store.ProjectRow, role: Role, permissions: Permission[]): Project {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    description: row.description,
    stack: row.stack,
    status: row.status,
    previewPort: row.preview_port,
    services: servicesOf(row),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    role,
    permissions,
  };
}

function servicesOf(row: Pick<store.ProjectRow, 'service_postgres' | 'service_redis'>): ProjectServices {
  return { postgres: row.service_postgres, redis: row.service_redis };
}

function encodeCursor(cursor: store.PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeCursor(raw: string): store.PageCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2) {
      const [createdAt, id] = value as unknown[];
      if (typeof createdAt === 'string' && CURSOR_TIME.test(createdAt) && typeof id === 'string' && UUID.test(id)) {
        return { createdAt, id };
      }
    }
  } catch {
    // Falls through to the error below.
  }
  throw new AppError('INVALID_CURSOR', 'The cursor is not one this API gave out');
}

export class ProjectsService {
  private readonly deleteHooks: ProjectDeleteHook[] = [];
  private readonly servicesHooks: ProjectServicesHook[] = [];

  constructor(private readonly deps: ProjectsServiceDeps) {}

  /** Lets another service clean up after a project (its sandbox, its files) before the project is gone. */
  onDelete(hook: ProjectDeleteHook): void {
    this.deleteHooks.push(hook);
  }

  /** Lets another service follow a change of a project's `services` setting (run after the change is stored). */
  onServicesChange(hook: ProjectServicesHook): void {
    this.servicesHooks.push(hook);
  }

  /** Which of the project's services are on (for the sandbox manager, which checked nobody: no caller here). */
  async servicesEnabled(projectId: string): Promise<ProjectServices> {
    return servicesOf(await store.projectServices(this.deps.db, projectId));
  }

  /**
   * The one access check. A project the caller may not see is "not found" (its existence is not revealed);
   * one they see but may not act on in this way is "forbidden".
   */
  async authorize(principal: Principal, projectId: string, needed: Permission): Promise<Project> {
    // Ids reach here from URLs and socket messages: anything but a UUID names no project.
    if (!UUID.test(projectId)) throw new AppError('PROJECT_NOT_FOUND', 'No such project');
    const row = await store.findProjectForMember(this.deps.db, projectId, principal.userId);
    const permissions = row ? effectivePermissions(principal, projectId, row.role) : [];
    if (!row || permissions.length === 0) throw new AppError('PROJECT_NOT_FOUND', 'No such project');
    if (!permissions.includes(needed)) {
      throw new AppError('FORBIDDEN', `This needs the "${needed}" permission on the project`, {
        needed,
        granted: permissions,
      });
    }
    return toProject(row, row.role, permissions);
  }

  async create(principal: Principal, input: NewProject): Promise<Project> {
    // A key limited to some projects cannot make new ones; an unrestricted key needs "admin".
    if (principal.kind === 'apiKey' && (principal.projectIds !== null || !principal.permissions.includes('admin'))) {
      throw new AppError('FORBIDDEN', 'Creating projects needs a session or an unrestricted API key with "admin"');
    }
    const name = input.name.trim();
    if (!name) throw new AppError('VALIDATION_FAILED', 'The project name must not be blank');
    const base = input.slug ?? slugify(name);
    for (let attempt = 1; ; attempt++) {
      try {
        const row = await withTransaction(this.deps.db, async (tx) => {
          const slug = input.slug ?? firstFreeSlug(base, await store.slugsLike(tx, principal.userId, base));
          const project = await store.insertProject(tx, {
            createdBy: principal.userId,
            name,
            slug,
            description: input.description?.trim() ?? '',
            stack: input.stack,
            servicePostgres: input.services?.postgres ?? false,
            serviceRedis: input.services?.redis ?? false,
          });
          await store.insertMember(tx, project.id, principal.userId, 'owner');
          return project;
        });
        const project = toProject(row, 'owner', effectivePermissions(principal, row.id, 'owner'));
        await this.publish(principal, row.id, 'project.created', { name: row.name, slug: row.slug, stack: row.stack });
        return project;
      } catch (err) {
        if (!isUniqueViolation(err, 'projects_creator_slug_key')) throw err;
        if (input.slug !== undefined) throw new AppError('SLUG_TAKEN', `You already have a project "${input.slug}"`);
        // Another request took the derived slug between our read and our insert: look again.
        if (attempt >= MAX_SLUG_ATTEMPTS) throw err;
      }
    }
  }

  async list(principal: Principal, options: { limit: number; cursor?: string | undefined }): Promise<ProjectPage> {
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const rows = await store.listProjectsOfMember(this.deps.db, principal.userId, {
      limit: options.limit + 1,
      after,
      onlyIds: principal.kind === 'apiKey' ? principal.projectIds : null,
    });
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    const items = page
      .map((row) => toProject(row, row.role, effectivePermissions(principal, row.id, row.role)))
      .filter((project) => project.permissions.length > 0);
    return {
      items,
      nextCursor: rows.length > options.limit && last ? encodeCursor({ createdAt: last.cursor_at, id: last.id }) : null,
    };
  }

  get(principal: Principal, projectId: string): Promise<Project> {
    return this.authorize(principal, projectId, 'read');
  }

  async update(principal: Principal, projectId: string, patch: ProjectPatch): Promise<Project> {
    const current = await this.authorize(principal, projectId, 'admin');
    const changes: Parameters<typeof store.updateProject>[2] = {};
    if (patch.name !== undefined) {
      const name = patch.name.trim();
      if (!name) throw new AppError('VALIDATION_FAILED', 'The project name must not be blank');
      changes.name = name;
    }
    if (patch.slug !== undefined) changes.slug = patch.slug;
    if (patch.description !== undefined) changes.description = patch.description.trim();
    if (patch.stack !== undefined) changes.stack = patch.stack;
    if (patch.status !== undefined) changes.status = patch.status;
    if (patch.previewPort !== undefined) changes.preview_port = patch.previewPort;
    if (patch.services?.postgres !== undefined && patch.services.postgres !== current.services.postgres) {
      changes.service_postgres = patch.services.postgres;
    }
    if (patch.services?.redis !== undefined && patch.services.redis !== current.services.redis) {
      changes.service_redis = patch.services.redis;
    }
    if (Object.keys(changes).length === 0) return current;
    let row: store.ProjectRow;
    try {
      row = await store.updateProject(this.deps.db, projectId, changes);
    } catch (err) {
      if (isUniqueViolation(err, 'projects_creator_slug_key')) {
        throw new AppError('SLUG_TAKEN', `The creator of this project already has a project "${patch.slug}"`);
      }
      throw err;
    }
    const project = toProject(row, current.role, current.permissions);
    await this.publish(principal, projectId, 'project.updated', { changes });
    // The setting is stored first: a hook that fails leaves it in force, applied at the sandbox's next start.
    if (changes.service_postgres !== undefined || changes.service_redis !== undefined) {
      for (const hook of this.servicesHooks) await hook(projectId, project.services);
    }
    return project;
  }

  async delete(principal: Principal, projectId: string): Promise<void> {
    const project = await this.authorize(principal, projectId, 'admin');
    if (project.role !== 'owner') throw new AppError('FORBIDDEN', 'Only an owner can delete a project');
    for (const hook of this.deleteHooks) await hook(projectId);
    await store.deleteProject(this.deps.db, projectId);
    await this.publish(principal, projectId, 'project.deleted', {});
  }

  /** Of `projectIds`, those that exist (for clean-up of what deleted projects left behind). */
  existingProjectIds(projectIds: string[]): Promise<string[]> {
    return store.existingProjectIds(this.deps.db, projectIds);
  }

  /** Of `projectIds`, those the user is a member of. */
  visibleProjectIds(userId: string, projectIds: string[]): Promise<string[]> {
    return store.visibleProjectIds(this.deps.db, userId, projectIds);
  }

  async listMembers(principal: Principal, projectId: string): Promise<Member[]> {
    await this.authorize(principal, projectId, 'read');
    const rows = await store.listMembers(this.deps.db, projectId);
    const users = new Map((await this.deps.users.findUsersByIds(rows.map((row) => row.user_id))).map((u) => [u.id, u]));
    return rows.map((row) => {
      const user = users.get(row.user_id);
      return {
        userId: row.user_id,
        email: user?.email ?? '',
        name: user?.name ?? '',
        role: row.role,
        joinedAt: row.created_at.toISOString(),
      };
    });
  }

  /** Adds an existing account by email. Owners alone may hand out "owner" or "admin". */
  async addMember(principal: Principal, projectId: string, input: { email: string; role: Role }): Promise<Member> {
    const caller = await this.authorize(principal, projectId, 'admin');
    requireOwnerFor(caller.role, input.role);
    const user = await this.deps.users.findUserByEmail(input.email);
    if (!user) throw new AppError('USER_NOT_FOUND', 'No account has this email; they must sign up first');
    try {
      await store.insertMember(this.deps.db, projectId, user.id, input.role);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('ALREADY_MEMBER', 'This account is already a member');
      throw err;
    }
    await this.publish(principal, projectId, 'member.added', { userId: user.id, role: input.role });
    return { userId: user.id, email: user.email, name: user.name, role: input.role, joinedAt: new Date().toISOString() };
  }

  async changeMemberRole(principal: Principal, projectId: string, userId: string, role: Role): Promise<Member> {
    const caller = await this.authorize(principal, projectId, 'admin');
    await withTransaction(this.deps.db, async (tx) => {
      const owners = await store.lockOwners(tx, projectId);
      const member = await store.lockMember(tx, projectId, userId);
      if (!member) throw new AppError('MEMBER_NOT_FOUND', 'This account is not a member of the project');
      requireOwnerFor(caller.role, member.role);
      requireOwnerFor(caller.role, role);
      if (member.role === 'owner' && role !== 'owner' && owners.length === 1) {
        throw new AppError('LAST_OWNER', 'A project needs an owner: make someone else owner first');
      }
      await store.updateMemberRole(tx, projectId, userId, role);
    });
    await this.publish(principal, projectId, 'member.updated', { userId, role });
    const [member] = (await this.listMembers(principal, projectId)).filter((m) => m.userId === userId);
    return member!;
  }

  /** Admins remove others; anyone may leave. The last owner may do neither. */
  async removeMember(principal: Principal, projectId: string, userId: string): Promise<void> {
    const leaving = userId === principal.userId;
    const caller = await this.authorize(principal, projectId, leaving ? 'read' : 'admin');
    await withTransaction(this.deps.db, async (tx) => {
      const owners = await store.lockOwners(tx, projectId);
      const member = await store.lockMember(tx, projectId, userId);
      if (!member) throw new AppError('MEMBER_NOT_FOUND', 'This account is not a member of the project');
      if (!leaving) requireOwnerFor(caller.role, member.role);
      if (member.role === 'owner' && owners.length === 1) {
        throw new AppError('LAST_OWNER', 'A project needs an owner: make someone else owner first');
      }
      await store.deleteMember(tx, projectId, userId);
    });
    await this.publish(principal, projectId, 'member.removed', { userId });
  }

  private async publish(principal: Principal, projectId: string, type: string, data: unknown): Promise<void> {
    await this.deps.bus.publish(makeEvent(projectId, type, data, actorOf(principal)));
  }
}

function requireOwnerFor(callerRole: Role, role: Role): void {
  if ((role === 'owner' || role === 'admin') && callerRole !== 'owner') {
    throw new AppError('FORBIDDEN', 'Only an owner can grant, change or remove the "owner" and "admin" roles');
  }
}
