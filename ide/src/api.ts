/**
 * The API client: JSON over fetch, the bearer token attached, and an expired access token refreshed once
 * (then the request retried). A refresh that fails signs the user out.
 */
import { clearSession, getSession, oneTabAtATime, setSession, type SessionResponse, type User } from './session';

export const API = '/api/v1';

export type Stack = 'node' | 'python' | 'go';
export type Role = 'owner' | 'admin' | 'write' | 'execute' | 'read';
export type Permission = 'read' | 'write' | 'execute' | 'admin';

/** The services Vaporform can run beside a project's sandbox, each on or off. */
export interface ProjectServices {
  postgres: boolean;
  redis: boolean;
}

export interface Project {
  id: string;
  name: string;
  slug: string;
  description: string;
  stack: Stack;
  status: 'active' | 'archived';
  /** The port in the sandbox that the preview serves. */
  previewPort?: number;
  /** Services Vaporform runs for the project's app (its PostgreSQL: DATABASE_URL, its Redis: REDIS_URL in every command). */
  services?: ProjectServices;
  createdAt: string;
  updatedAt: string;
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

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface RequestOptions {
  body?: unknown;
  /** Sign-in calls carry no token and must not trigger a refresh. */
  auth?: boolean;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  if (options.auth === false) return send<T>(method, path, options.body, undefined);
  return withToken((token) => send<T>(method, path, options.body, token));
}

/** Runs `call` with the access token, refreshing it once if it expired (then calling again). */
async function withToken<T>(call: (token: string) => Promise<T>): Promise<T> {
  const token = getSession()?.accessToken;
  if (!token) throw new ApiError(401, 'UNAUTHENTICATED', 'You are signed out');
  try {
    return await call(token);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    if (err.code !== 'TOKEN_EXPIRED') {
      // The token is no good for another reason (account gone, secret rotated): start over.
      clearSession();
      throw err;
    }
    return call(await refreshAfter(token));
  }
}

/**
 * A request whose body or answer is not JSON (file contents, archives, conditional writes): the raw
 * Response, with the token attached. Answers other than 2xx and 304 become an ApiError.
 */
export function requestRaw(
  method: string,
  path: string,
  init: { body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Response> {
  return withToken(async (token) => {
    let response: Response;
    try {
      response = await fetch(API + path, {
        method,
        headers: { ...init.headers, authorization: `Bearer ${token}` },
        body: init.body,
        cache: 'no-store',
      });
    } catch {
      throw networkError();
    }
    if (!response.ok && response.status !== 304) throw await errorOf(response);
    return response;
  });
}

function networkError(): ApiError {
  return new ApiError(0, 'NETWORK', 'Cannot reach the Vaporform server. Check your connection and try again.');
}

async function errorOf(response: Response): Promise<ApiError> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await response.text());
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  return new ApiError(
    response.status,
    error?.code ?? 'HTTP_' + response.status,
    error?.message ?? `The server answered ${response.status} ${response.statusText}`,
    error?.details,
  );
}

async function send<T>(method: string, path: string, body: unknown, token: string | undefined): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw networkError();
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

// One refresh at a time in this tab, and across tabs (oneTabAtATime): a refresh token works once, and
// presenting it twice revokes the whole session.
let refreshing: Promise<string> | null = null;

/** Trades the refresh cookie for a new access token (and a rotated cookie). */
function refreshSession(): Promise<string> {
  refreshing ??= oneTabAtATime(async () => {
    try {
      const response = await send<SessionResponse>('POST', '/auth/refresh', {}, undefined);
      return setSession(response).accessToken;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) clearSession();
      throw err;
    }
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** A valid access token to replace `staleToken`, refreshing unless another call already did. */
function refreshAfter(staleToken: string): Promise<string> {
  const current = getSession();
  if (current && current.accessToken !== staleToken) return Promise.resolve(current.accessToken);
  return refreshSession();
}

/** An access token good for at least a little while: the WebSocket cannot refresh in mid-handshake. */
export async function freshAccessToken(): Promise<string> {
  const session = getSession();
  if (!session) throw new ApiError(401, 'UNAUTHENTICATED', 'You are signed out');
  if (session.accessExpiresAt - Date.now() > 30_000) return session.accessToken;
  return refreshAfter(session.accessToken);
}

export const auth = {
  async login(email: string, password: string): Promise<User> {
    const body = { email, password, transport: 'cookie' };
    return setSession(await request<SessionResponse>('POST', '/auth/login', { body, auth: false })).user;
  },
  async register(email: string, password: string, name: string): Promise<User> {
    const body = name ? { email, password, name, transport: 'cookie' } : { email, password, transport: 'cookie' };
    return setSession(await request<SessionResponse>('POST', '/auth/register', { body, auth: false })).user;
  },
  /** After a reload: the session back from the refresh cookie, or null when there is none (any more). */
  async restore(): Promise<User | null> {
    try {
      await refreshSession();
      return getSession()?.user ?? null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  },
  /** Ends the session on the server too; signed out locally even if the server cannot be reached. */
  async logout(): Promise<void> {
    clearSession();
    await request('POST', '/auth/logout', { body: {}, auth: false }).catch(() => {});
  },
};

export const projects = {
  list: (cursor?: string) =>
    request<Page<Project>>('GET', `/projects?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
  get: (id: string) => request<Project>('GET', `/projects/${encodeURIComponent(id)}`),
  create: (input: { name: string; stack: Stack; description?: string; services?: Partial<ProjectServices> }) =>
    request<Project>('POST', '/projects', { body: input }),
  update: (id: string, changes: { name?: string; description?: string; services?: Partial<ProjectServices> }) =>
    request<Project>('PATCH', `/projects/${encodeURIComponent(id)}`, { body: changes }),
  remove: (id: string) => request<void>('DELETE', `/projects/${encodeURIComponent(id)}`),
  members: (id: string) => request<{ items: Member[] }>('GET', `/projects/${encodeURIComponent(id)}/members`),
  addMember: (id: string, email: string, role: Role) =>
    request<Member>('POST', `/projects/${encodeURIComponent(id)}/members`, { body: { email, role } }),
};
