/**
 * The signed-in session. The access token lives in this tab's memory only and the refresh token in an
 * HttpOnly cookie the server sets: no script (ours, an extension's, or a page that got in) can read a token
 * from storage. A reload restores the session by refreshing through the cookie; tabs tell each other about
 * sign-in and sign-out on a BroadcastChannel, and refresh one at a time (a refresh token works once).
 */

export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: string;
}

export interface Session {
  user: User;
  accessToken: string;
  /** Epoch milliseconds when the access token stops working. */
  accessExpiresAt: number;
}

/** The shape the auth endpoints return with the cookie transport (no refresh token in the body). */
export interface SessionResponse {
  user: User;
  accessToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

/** Not a secret: only whether a reload should try to restore a session (saves a 401 for visitors). */
const SIGNED_IN_HINT = 'vaporform.signedIn';

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();
let current: Session | null = null;

const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('vaporform.session') : undefined;
type TabMessage = { kind: 'signed-in' } | { kind: 'signed-out' };

export function getSession(): Session | null {
  return current;
}

export function setSession(response: SessionResponse): Session {
  const wasSignedIn = current !== null;
  current = {
    user: response.user,
    accessToken: response.accessToken,
    accessExpiresAt: Date.now() + response.expiresIn * 1000,
  };
  localStorage.setItem(SIGNED_IN_HINT, '1');
  if (!wasSignedIn) channel?.postMessage({ kind: 'signed-in' } satisfies TabMessage);
  notify(current);
  return current;
}

export function clearSession(options: { fromOtherTab?: boolean } = {}): void {
  if (!options.fromOtherTab) {
    localStorage.removeItem(SIGNED_IN_HINT);
    channel?.postMessage({ kind: 'signed-out' } satisfies TabMessage);
  }
  if (current === null) return;
  current = null;
  notify(null);
}

/** Whether this browser was signed in when last seen: worth trying to restore the session. */
export function mayHaveSession(): boolean {
  return localStorage.getItem(SIGNED_IN_HINT) === '1';
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Another tab signed in or out: follow it (signing in here means asking the server, through the cookie). */
export function onOtherTab(handlers: { signedIn: () => void }): void {
  channel?.addEventListener('message', (event: MessageEvent<TabMessage>) => {
    if (event.data?.kind === 'signed-out') clearSession({ fromOtherTab: true });
    else if (event.data?.kind === 'signed-in' && current === null) handlers.signedIn();
  });
}

/**
 * Runs `refresh` while no other tab of this browser refreshes: the cookie then holds the newest refresh
 * token when it runs. Web Locks where available (every current browser in a secure context).
 */
export function oneTabAtATime<T>(refresh: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? (locks.request('vaporform.refresh', refresh) as Promise<T>) : refresh();
}

function notify(session: Session | null): void {
  for (const listener of listeners) listener(session);
}
