/** Auth logic: accounts, sessions (access + rotating refresh tokens), API keys, and turning a bearer into a principal. */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../lib/config.js';
import { isUniqueViolation, withTransaction, type Db, type Queryable } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import type { Permission, Principal } from '../../lib/access.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { hashPassword, makeDummyHash, MAX_PASSWORD_BYTES, verifyPassword } from './passwords.js';
import * as store from './store.js';
import {
  hashSecret,
  looksLikeApiKey,
  newApiKey,
  newSecret,
  parseApiKey,
  sameHash,
  signAccessToken,
  verifyAccessToken,
} from './tokens.js';

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  createdAt: string;
}

export interface Session {
  user: PublicUser;
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  tokenType: 'Bearer';
}

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  permissions: Permission[];
  projectIds: string[] | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface NewApiKey {
  name: string;
  permissions: Permission[];
  projectIds?: string[] | undefined;
  expiresAt?: string | undefined;
}

export interface AuthServiceDeps {
  db: Db;
  config: Config['auth'];
  limiter: RateLimiter;
  /** Of `projectIds`, those the user may see. Injected so that auth does not depend on projects. */
  visibleProjects: (userId: string, projectIds: string[]) => Promise<string[]>;
  onBackgroundError: (err: unknown) => void;
}

const MIN_PASSWORD_LENGTH = 8;
const API_KEY_TOUCH_INTERVAL_MS = 60_000;

function toPublicUser(row: store.UserRow): PublicUser {
  return { id: row.id, email: row.email, name: row.name, createdAt: row.created_at.toISOString() };
}

function toApiKeyView(row: store.ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    permissions: row.permissions,
    projectIds: row.project_ids,
    expiresAt: row.expires_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AppError('VALIDATION_FAILED', `The password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new AppError('VALIDATION_FAILED', `The password must be at most ${MAX_PASSWORD_BYTES} bytes long`);
  }
}

export class AuthService {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: AuthServiceDeps) {}

  async register(input: { email: string; password: string; name?: string | undefined }): Promise<Session> {
    checkPassword(input.password);
    const email = normalizeEmail(input.email);
    const passwordHash = await hashPassword(input.password, this.deps.config.bcryptCost);
    try {
      return await withTransaction(this.deps.db, async (tx) => {
        const user = await store.insertUser(tx, email, input.name?.trim() ?? '', passwordHash);
        return this.startSession(tx, user);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('EMAIL_TAKEN', 'An account with this email already exists');
      throw err;
    }
  }

  /** Rate limited per address (all attempts) and per account (failures), so guessing is slow from anywhere. */
  async login(input: { email: string; password: string; address: string }): Promise<Session> {
    const { limiter, config } = this.deps;
    const windowMs = config.loginWindowSeconds * 1000;
    const email = normalizeEmail(input.email);
    const byAddress = await limiter.hit(`login:address:${input.address}`, windowMs);
    if (byAddress.count > config.loginAttemptsPerAddress) throw rateLimited(byAddress.resetInMs);
    // Every attempt counts as a failure before the password is checked, and a success clears the count:
    // guesses sent in parallel each take a slot, so no more than the limit are ever checked.
    const accountKey = `login:failures:${email}`;
    const failures = await limiter.hit(accountKey, windowMs);
    if (failures.count > config.loginFailuresPerAccount) throw rateLimited(failures.resetInMs);

    const user = await store.findUserByEmail(this.deps.db, email);
    const matches = await verifyPassword(input.password, user?.password_hash ?? (await this.getDummyHash()));
    if (!user || !matches) throw new AppError('INVALID_CREDENTIALS', 'The email or password is wrong');
    await limiter.reset(accountKey);
    return this.startSession(this.deps.db, user);
  }

  /** Rotates the refresh token. A token used twice revokes its whole family: someone else has a copy. */
  async refresh(refreshToken: string): Promise<Session> {
    const hash = hashSecret(refreshToken);
    const outcome = await withTransaction(this.deps.db, async (tx) => {
      const row = await store.lockRefreshToken(tx, hash);
      if (!row || row.revoked_at) return { kind: 'invalid' as const };
      if (row.rotated_at) {
        await store.revokeRefreshFamily(tx, row.family_id);
        return { kind: 'reused' as const };
      }
      if (row.expires_at.getTime() <= Date.now()) return { kind: 'invalid' as const };
      const user = await store.findUserById(tx, row.user_id);
      if (!user) return { kind: 'invalid' as const };
      await store.markRefreshTokenRotated(tx, row.id);
      return { kind: 'ok' as const, session: await this.startSession(tx, user, row.family_id) };
    });
    if (outcome.kind === 'reused') {
      throw new AppError('REFRESH_TOKEN_REUSED', 'This refresh token was already used; sign in again');
    }
    if (outcome.kind === 'invalid') throw new AppError('REFRESH_TOKEN_INVALID', 'The refresh token is not valid');
    return outcome.session;
  }

  /** Ends the session the refresh token belongs to. Unknown tokens are ignored: logging out twice is fine. */
  async logout(refreshToken: string): Promise<void> {
    await withTransaction(this.deps.db, async (tx) => {
      const row = await store.lockRefreshToken(tx, hashSecret(refreshToken));
      if (row) await store.revokeRefreshFamily(tx, row.family_id);
    });
  }

  async me(principal: Principal): Promise<PublicUser> {
    const user = await store.findUserById(this.deps.db, principal.userId);
    if (!user) throw new AppError('UNAUTHENTICATED', 'The account no longer exists');
    return toPublicUser(user);
  }

  /** The directory other services use to name people (members, invitations). */
  async findUserByEmail(email: string): Promise<PublicUser | undefined> {
    const row = await store.findUserByEmail(this.deps.db, normalizeEmail(email));
    return row && toPublicUser(row);
  }

  async findUsersByIds(ids: readonly string[]): Promise<PublicUser[]> {
    if (ids.length === 0) return [];
    return (await store.findUsersByIds(this.deps.db, ids)).map(toPublicUser);
  }

  /** Turns a bearer credential (access token or API key) into a principal, or fails with 401. */
  async authenticate(token: string): Promise<Principal> {
    if (!looksLikeApiKey(token)) {
      const claims = verifyAccessToken(token, this.deps.config.jwtSecret);
      return claims.sid ? { kind: 'user', userId: claims.sub, sessionId: claims.sid } : { kind: 'user', userId: claims.sub };
    }
    const invalid = () => new AppError('API_KEY_INVALID', 'The API key is not valid');
    const parsed = parseApiKey(token);
    if (!parsed) throw invalid();
    const row = await store.findApiKeyByPrefix(this.deps.db, parsed.prefix);
    if (!row || !sameHash(row.key_hash, hashSecret(token))) throw invalid();
    if (row.revoked_at) throw new AppError('API_KEY_INVALID', 'The API key was revoked');
    if (row.expires_at && row.expires_at.getTime() <= Date.now()) {
      throw new AppError('API_KEY_INVALID', 'The API key has expired');
    }
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > API_KEY_TOUCH_INTERVAL_MS) {
      // Bookkeeping only: the request does not wait for it.
      store.touchApiKey(this.deps.db, row.id).catch(this.deps.onBackgroundError);
    }
    return {
      kind: 'apiKey',
      userId: row.user_id,
      keyId: row.id,
      permissions: row.permissions,
      projectIds: row.project_ids,
    };
  }

  /**
   * Throws once the credential behind a principal no longer holds: its account deleted, its API key revoked or
   * expired, its session signed out. A connection that outlives a request (the WebSocket) asks again.
   */
  async checkPrincipal(principal: Principal): Promise<void> {
    const { db } = this.deps;
    if (!(await store.findUserById(db, principal.userId))) {
      throw new AppError('UNAUTHENTICATED', 'The account no longer exists');
    }
    if (principal.kind === 'apiKey') {
      const row = await store.findApiKeyById(db, principal.keyId);
      if (!row || row.revoked_at) throw new AppError('API_KEY_INVALID', 'The API key was revoked');
      if (row.expires_at && row.expires_at.getTime() <= Date.now()) {
        throw new AppError('API_KEY_INVALID', 'The API key has expired');
      }
    } else if (principal.sessionId && !(await store.sessionIsLive(db, principal.sessionId))) {
      throw new AppError('UNAUTHENTICATED', 'The session was signed out');
    }
  }

  async createApiKey(principal: Principal, input: NewApiKey): Promise<{ apiKey: ApiKeyView; key: string }> {
    requireUserSession(principal);
    const permissions = [...new Set(input.permissions)];
    if (permissions.length === 0) throw new AppError('VALIDATION_FAILED', 'An API key needs at least one permission');
    let expiresAt: Date | null = null;
    if (input.expiresAt !== undefined) {
      expiresAt = new Date(input.expiresAt);
      if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now()) {
        throw new AppError('VALIDATION_FAILED', 'expiresAt must be a date-time in the future');
      }
    }
    let projectIds: string[] | null = null;
    if (input.projectIds !== undefined) {
      projectIds = [...new Set(input.projectIds)];
      if (projectIds.length === 0) {
        throw new AppError('VALIDATION_FAILED', 'projectIds, when given, must name at least one project');
      }
      const visible = new Set(await this.deps.visibleProjects(principal.userId, projectIds));
      const unknown = projectIds.filter((id) => !visible.has(id));
      if (unknown.length > 0) {
        throw new AppError('PROJECT_NOT_FOUND', 'Some projects do not exist or are not yours', { projectIds: unknown });
      }
    }
    const generated = newApiKey();
    const row = await store.insertApiKey(this.deps.db, {
      userId: principal.userId,
      name: input.name.trim(),
      prefix: generated.prefix,
      hash: generated.hash,
      permissions,
      projectIds,
      expiresAt,
    });
    return { apiKey: toApiKeyView(row), key: generated.key };
  }

  async listApiKeys(principal: Principal): Promise<ApiKeyView[]> {
    requireUserSession(principal);
    return (await store.listApiKeys(this.deps.db, principal.userId)).map(toApiKeyView);
  }

  async revokeApiKey(principal: Principal, id: string): Promise<void> {
    requireUserSession(principal);
    if (!(await store.revokeApiKey(this.deps.db, principal.userId, id))) {
      throw new AppError('API_KEY_NOT_FOUND', 'No such API key');
    }
  }

  private async startSession(db: Queryable, user: store.UserRow, familyId: string = randomUUID()): Promise<Session> {
    const { config } = this.deps;
    const refreshToken = newSecret(32);
    const expiresAt = new Date(Date.now() + config.refreshTokenTtlSeconds * 1000);
    await store.insertRefreshToken(db, user.id, familyId, hashSecret(refreshToken), expiresAt);
    return {
      user: toPublicUser(user),
      accessToken: signAccessToken(user.id, config.jwtSecret, config.accessTokenTtlSeconds, Date.now(), familyId),
      refreshToken,
      expiresIn: config.accessTokenTtlSeconds,
      tokenType: 'Bearer',
    };
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= makeDummyHash(this.deps.config.bcryptCost);
    return this.dummyHash;
  }
}

/** Managing API keys takes a person's session: a key cannot mint or revoke keys. */
function requireUserSession(principal: Principal): asserts principal is Extract<Principal, { kind: 'user' }> {
  if (principal.kind !== 'user') {
    throw new AppError('FORBIDDEN', 'API keys are managed with a signed-in session, not with an API key');
  }
}

function rateLimited(resetInMs: number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(resetInMs / 1000));
  return new AppError('RATE_LIMITED', 'Too many login attempts; try again later', { retryAfterSeconds });
}
