/** Who is calling, and what they may do on a project. Shared by every service that checks access. */
import type { Actor } from './event-bus.js';

export const PERMISSIONS = ['read', 'write', 'execute', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['owner', 'admin', 'write', 'execute', 'read'] as const;
export type Role = (typeof ROLES)[number];

/** A project's ACL: each role and the permissions it grants. Owners alone may delete a project or name owners. */
export const PERMISSIONS_OF_ROLE: Readonly<Record<Role, readonly Permission[]>> = {
  owner: ['read', 'write', 'execute', 'admin'],
  admin: ['read', 'write', 'execute', 'admin'],
  write: ['read', 'write', 'execute'],
  execute: ['read', 'execute'],
  read: ['read'],
};

export type Principal =
  | {
      kind: 'user';
      userId: string;
      /** The sign-in session the access token belongs to; a long-lived connection ends with it. */
      sessionId?: string;
      /** Acting for this agent run (its tools): what it does is announced as the agent's. */
      agentRunId?: string;
    }
  | {
      kind: 'apiKey';
      userId: string;
      keyId: string;
      permissions: readonly Permission[];
      /** null: every project of the key's owner. */
      projectIds: readonly string[] | null;
      /** Acting for this agent run (its tools): what it does is announced as the agent's. */
      agentRunId?: string;
    };

/** Who an event names as having done what the principal did. */
export function actorOf(principal: Principal): Actor {
  if (principal.agentRunId) return { kind: 'agent', id: principal.agentRunId };
  return principal.kind === 'user' ? { kind: 'user', id: principal.userId } : { kind: 'apiKey', id: principal.keyId };
}

/** What a principal may do on a project where its user holds `role`. */
export function effectivePermissions(principal: Principal, projectId: string, role: Role): Permission[] {
  const granted = PERMISSIONS_OF_ROLE[role];
  if (principal.kind === 'user') return [...granted];
  if (principal.projectIds && !principal.projectIds.includes(projectId)) return [];
  return granted.filter((permission) => principal.permissions.includes(permission));
}
