/**
 * Secrets: per-project (the sandbox gets them as environment variables of each command, for callers with
 * "execute") and per-user (a person's own LLM keys and base URLs, used by their agent runs). Values are
 * write-only: nothing here returns one to a caller; only `projectEnv` and `userValues` open them, for use.
 */
import { randomUUID } from 'node:crypto';
import type { Permission, Principal } from '../../lib/access.js';
import type { Config } from '../../lib/config.js';
import { isUniqueViolation, withTransaction, type Db } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { Redactor } from '../../lib/redactor.js';
import { openSecret, sealSecret } from './envelope.js';
import { Keyring } from './keyring.js';
import * as store from './store.js';

export const SECRET_NAME_PATTERN = '^[A-Z_][A-Z0-9_]{0,127}$';
const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);
/** A value's size in bytes (UTF-8); a whole owner's values together, which all go into one command's environment. */
export const MAX_SECRET_VALUE_BYTES = 16 * 1024;
const MAX_OWNER_VALUE_BYTES = 256 * 1024;
const MAX_SECRETS_PER_OWNER = 100;
export const MAX_DESCRIPTION_LENGTH = 500;
/** Names a secret must not take: the sandbox's own environment, and ours. */
const RESERVED_NAMES = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'OLDPWD', 'TERM', 'HOSTNAME', 'LANG', 'TMPDIR', 'LD_PRELOAD', 'LD_LIBRARY_PATH']);
/** The user secrets an agent run uses for its model provider, before the server's defaults. */
export const LLM_SECRET_NAMES = ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL'] as const;

export interface SecretInfo {
  name: string;
  description: string;
  /** First 8 hex digits of an HMAC-SHA256 of the value (a key derived from the master key): tells values apart, reveals none. */
  fingerprint: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewSecret {
  name: string;
  value: string;
  description?: string | undefined;
}

export interface SecretPatch {
  value?: string | undefined;
  description?: string | undefined;
}

export interface AuditInfo {
  id: string;
  secretName: string;
  action: store.AuditAction;
  actor: { kind: string; id: string | null };
  context: string | null;
  at: string;
}

/** The projects service's access check, as this service needs it. */
export type AuthorizeProject = (
  principal: Principal,
  projectId: string,
  permission: Permission,
) => Promise<{ id: string; permissions: readonly Permission[] }>;

export interface SecretsServiceDeps {
  db: Db;
  keys: Config['secrets'];
  authorize: AuthorizeProject;
  onError?: (err: unknown) => void;
}

/** What a command in a project's sandbox gets: the values as environment, and how to redact its output. */
export interface SecretEnv {
  env: Record<string, string>;
  redactor: Redactor;
}

function toInfo(row: store.SecretRow): SecretInfo {
  return {
    name: row.name,
    description: row.description,
    fingerprint: row.fingerprint,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function actorOf(principal: Principal): { actorKind: string; actorId: string } {
  return principal.kind === 'user'
    ? { actorKind: 'user', actorId: principal.userId }
    : { actorKind: 'apiKey', actorId: `${principal.keyId} (user ${principal.userId})` };
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new AppError('VALIDATION_FAILED', 'A secret name looks like an environment variable: A-Z, 0-9 and _, not starting with a digit, at most 128', {
      pattern: SECRET_NAME_PATTERN,
    });
  }
  if (RESERVED_NAMES.has(name) || name.startsWith('VAPORFORM_')) {
    throw new AppError('VALIDATION_FAILED', `${name} is reserved for the sandbox's own environment`);
  }
}

function checkValue(name: string, value: string): number {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes === 0) throw new AppError('VALIDATION_FAILED', 'A secret value must not be empty');
  if (bytes > MAX_SECRET_VALUE_BYTES) throw new AppError('VALIDATION_FAILED', `A secret value may be at most ${MAX_SECRET_VALUE_BYTES} bytes`);
  if (value.includes('\0')) throw new AppError('VALIDATION_FAILED', 'A secret value cannot hold a NUL byte (environment variables cannot)');
  if (name.endsWith('_BASE_URL') && (LLM_SECRET_NAMES as readonly string[]).includes(name) && !/^https?:\/\/\S+$/.test(value)) {
    throw new AppError('VALIDATION_FAILED', `${name} must be an http(s) URL`);
  }
  return bytes;
}

function checkDescription(description: string | undefined): string | undefined {
  if (description === undefined) return undefined;
  const trimmed = description.trim();
  if (trimmed.length > MAX_DESCRIPTION_LENGTH) throw new AppError('VALIDATION_FAILED', `A description may be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  return trimmed;
}

function notFound(name: string): AppError {
  return new AppError('SECRET_NOT_FOUND', `No secret named ${name}`);
}

export class SecretsService {
  private keyring: Promise<Keyring> | undefined;

  constructor(private readonly deps: SecretsServiceDeps) {}

  /** Checks the master keys against the database (start-up calls it, so a wrong key stops the server there). */
  open(): Promise<Keyring> {
    this.keyring ??= Keyring.open(this.deps.db, this.deps.keys).catch((err: unknown) => {
      this.keyring = undefined;
      throw err;
    });
    return this.keyring;
  }

  // --- project secrets -------------------------------------------------------------------------------------------

  async listProject(principal: Principal, projectId: string): Promise<SecretInfo[]> {
    await this.deps.authorize(principal, projectId, 'read');
    return (await store.listSecrets(this.deps.db, { projectId })).map(toInfo);
  }

  async createProject(principal: Principal, projectId: string, input: NewSecret): Promise<SecretInfo> {
    await this.deps.authorize(principal, projectId, 'write');
    return this.create(principal, { projectId }, input);
  }

  async updateProject(principal: Principal, projectId: string, name: string, patch: SecretPatch): Promise<SecretInfo> {
    await this.deps.authorize(principal, projectId, 'write');
    return this.update(principal, { projectId }, name, patch);
  }

  async deleteProject(principal: Principal, projectId: string, name: string): Promise<void> {
    await this.deps.authorize(principal, projectId, 'write');
    await this.remove(principal, { projectId }, name);
  }

  /** Who created, changed, deleted or used the project's secrets, newest first (needs "write" or "admin"). */
  async audit(principal: Principal, projectId: string, options: { limit: number; before?: number | undefined }): Promise<AuditInfo[]> {
    const project = await this.deps.authorize(principal, projectId, 'read');
    if (!project.permissions.includes('write') && !project.permissions.includes('admin')) {
      throw new AppError('FORBIDDEN', 'The audit log of secrets needs the "write" or "admin" permission on the project', {
        granted: project.permissions,
      });
    }
    return (await store.listAudit(this.deps.db, { projectId }, options)).map((row) => ({
      id: String(row.id),
      secretName: row.secret_name,
      action: row.action,
      actor: { kind: row.actor_kind, id: row.actor_id },
      context: row.context,
      at: row.at.toISOString(),
    }));
  }

  /**
   * The project's secrets as environment for one command, for a caller the containers service found to hold
   * "execute" there; the use is recorded. An empty set costs one query.
   */
  async projectEnv(principal: Principal, projectId: string, context: string): Promise<SecretEnv> {
    const rows = await store.listSecrets(this.deps.db, { projectId });
    if (rows.length === 0) return { env: {}, redactor: Redactor.none };
    const opened = await this.openRows({ projectId }, rows);
    await store.insertAudit(
      this.deps.db,
      rows.map((row) => ({ owner: { projectId }, secretId: row.id, secretName: row.name, action: 'used' as const, ...actorOf(principal), context })),
    );
    return { env: Object.fromEntries(opened.map((s) => [s.name, s.value])), redactor: new Redactor(opened) };
  }

  /** Redacts the project's secrets and (for a run) its user's own, without recording a use. */
  async redactorFor(projectId: string, userId?: string): Promise<Redactor> {
    const project = await store.listSecrets(this.deps.db, { projectId });
    const user = userId ? await store.listSecrets(this.deps.db, { userId }) : [];
    if (project.length === 0 && user.length === 0) return Redactor.none;
    return new Redactor([...(await this.openRows({ projectId }, project)), ...(await this.openRows({ userId: userId! }, user))]);
  }

  /** The names of the project's secrets (an agent run's prompt says which variables its commands get). */
  async projectSecretNames(projectId: string): Promise<string[]> {
    return (await store.listSecrets(this.deps.db, { projectId })).map((row) => row.name);
  }

  // --- the caller's own secrets ----------------------------------------------------------------------------------

  async listMine(principal: Principal): Promise<SecretInfo[]> {
    return (await store.listSecrets(this.deps.db, { userId: ownUser(principal) })).map(toInfo);
  }

  createMine(principal: Principal, input: NewSecret): Promise<SecretInfo> {
    return this.create(principal, { userId: ownUser(principal) }, input);
  }

  updateMine(principal: Principal, name: string, patch: SecretPatch): Promise<SecretInfo> {
    return this.update(principal, { userId: ownUser(principal) }, name, patch);
  }

  deleteMine(principal: Principal, name: string): Promise<void> {
    return this.remove(principal, { userId: ownUser(principal) }, name);
  }

  /** A user's own values of `names` (those they set), for their agent run; the use is recorded with `context`. */
  async userValues(userId: string, names: readonly string[], context: string): Promise<Record<string, string>> {
    const rows = (await store.listSecrets(this.deps.db, { userId })).filter((row) => names.includes(row.name));
    if (rows.length === 0) return {};
    const opened = await this.openRows({ userId }, rows);
    await store.insertAudit(
      this.deps.db,
      rows.map((row) => ({ owner: { userId }, secretId: row.id, secretName: row.name, action: 'used' as const, actorKind: 'user', actorId: userId, context })),
    );
    return Object.fromEntries(opened.map((s) => [s.name, s.value]));
  }

  // --- shared ----------------------------------------------------------------------------------------------------

  private async openRows(owner: store.Owner, rows: store.SecretRow[]): Promise<Array<{ name: string; value: string }>> {
    const keyring = await this.open();
    return rows.map((row) => ({
      name: row.name,
      value: openSecret(keyring.key(row.key_id), row.id, owner, { ciphertext: row.ciphertext, wrappedKey: row.wrapped_key }),
    }));
  }

  private async create(principal: Principal, owner: store.Owner, input: NewSecret): Promise<SecretInfo> {
    checkName(input.name);
    const bytes = checkValue(input.name, input.value);
    const description = checkDescription(input.description) ?? '';
    const keyring = await this.open();
    try {
      return await withTransaction(this.deps.db, async (tx) => {
        const totals = await store.ownerTotals(tx, owner);
        if (totals.count >= MAX_SECRETS_PER_OWNER) throw new AppError('UNPROCESSABLE', `At most ${MAX_SECRETS_PER_OWNER} secrets each`);
        if (totals.bytes + bytes > MAX_OWNER_VALUE_BYTES) {
          throw new AppError('UNPROCESSABLE', `The values together may be at most ${MAX_OWNER_VALUE_BYTES} bytes (they all go into each command's environment)`);
        }
        const master = await keyring.current(tx);
        const id = randomUUID();
        const sealed = sealSecret(master.key, id, owner, input.value);
        const row = await store.insertSecret(tx, {
          id,
          owner,
          name: input.name,
          description,
          ciphertext: sealed.ciphertext,
          wrapped_key: sealed.wrappedKey,
          key_id: master.id,
          fingerprint: sealed.fingerprint,
          value_bytes: bytes,
          by: principal.userId,
        });
        await store.insertAudit(tx, [{ owner, secretId: id, secretName: input.name, action: 'created', ...actorOf(principal), context: null }]);
        return toInfo(row);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('SECRET_EXISTS', `A secret named ${input.name} exists already: PUT changes it`);
      throw err;
    }
  }

  private async update(principal: Principal, owner: store.Owner, name: string, patch: SecretPatch): Promise<SecretInfo> {
    checkName(name);
    const bytes = patch.value === undefined ? undefined : checkValue(name, patch.value);
    const description = checkDescription(patch.description);
    if (patch.value === undefined && description === undefined) throw new AppError('VALIDATION_FAILED', 'Give a new value, a new description, or both');
    const keyring = await this.open();
    return withTransaction(this.deps.db, async (tx) => {
      const row = await store.findSecret(tx, owner, name, true);
      if (!row) throw notFound(name);
      let sealed: Parameters<typeof store.updateSecret>[2]['sealed'];
      if (patch.value !== undefined) {
        const totals = await store.ownerTotals(tx, owner);
        if (totals.bytes - row.value_bytes + bytes! > MAX_OWNER_VALUE_BYTES) {
          throw new AppError('UNPROCESSABLE', `The values together may be at most ${MAX_OWNER_VALUE_BYTES} bytes`);
        }
        const master = await keyring.current(tx);
        // A fresh data key for the new value.
        const fresh = sealSecret(master.key, row.id, owner, patch.value);
        sealed = { ciphertext: fresh.ciphertext, wrapped_key: fresh.wrappedKey, key_id: master.id, fingerprint: fresh.fingerprint, value_bytes: bytes! };
      }
      const updated = await store.updateSecret(tx, row.id, { ...(description === undefined ? {} : { description }), ...(sealed ? { sealed } : {}), by: principal.userId });
      await store.insertAudit(tx, [{ owner, secretId: row.id, secretName: name, action: 'updated', ...actorOf(principal), context: patch.value === undefined ? 'description' : 'value' }]);
      return toInfo(updated);
    });
  }

  private async remove(principal: Principal, owner: store.Owner, name: string): Promise<void> {
    checkName(name);
    await withTransaction(this.deps.db, async (tx) => {
      const row = await store.findSecret(tx, owner, name, true);
      if (!row) throw notFound(name);
      await store.deleteSecret(tx, row.id);
      await store.insertAudit(tx, [{ owner, secretId: row.id, secretName: name, action: 'deleted', ...actorOf(principal), context: null }]);
    });
  }
}

/** A person's own secrets are theirs to manage in a session, not through an API key (which is for projects). */
function ownUser(principal: Principal): string {
  if (principal.kind !== 'user') throw new AppError('FORBIDDEN', 'Your own secrets are managed in a signed-in session, not with an API key');
  return principal.userId;
}
