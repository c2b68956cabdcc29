/**
 * The signed-in session, kept in localStorage so a reload (or a second tab) stays signed in. Everything
 * else learns about sign-in and sign-out through `onSessionChange`.
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
  refreshToken: string;
  /** Epoch milliseconds when the access token stops working. */
  accessExpiresAt: number;
}

/** The shape the auth endpoints return. */
export interface SessionResponse {
  user: User;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

export const SESSION_KEY = 'vaporform.session';

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();

export function getSession(): Session | null {
  const raw = localStorage.getItem(SESSION_KEY);
  if (!raw) return null;
  try {
    const session = JSON.parse(raw) as Session;
    return session.accessToken && session.refreshToken ? session : null;
  } catch {
    return null;
  }
}

export function setSession(response: SessionResponse): Session {
  const session: Session = {
    user: response.user,
    accessToken: response.accessToken,
    refreshToken: response.refreshToken,
    accessExpiresAt: Date.now() + response.expiresIn * 1000,
  };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  notify(session);
  return session;
}

export function clearSession(): void {
  const had = localStorage.getItem(SESSION_KEY) !== null;
  localStorage.removeItem(SESSION_KEY);
  if (had) notify(null);
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(session: Session | null): void {
  for (const listener of listeners) listener(session);
}

// Another tab signing in or out (or refreshing) writes the same key; follow it here.
window.addEventListener('storage', (event) => {
  if (event.key === SESSION_KEY || event.key === null) notify(getSession());
});
