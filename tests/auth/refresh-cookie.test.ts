/**
 * Browser sessions keep the refresh token out of script reach: with `transport: "cookie"` it travels only in an
 * HttpOnly, SameSite=Strict cookie scoped to the auth routes, is rotated there, and is refused from other origins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, uniqueEmail } from '../helpers/http.js';

let t: TestApp;
let api: ApiClient;
const password = 'correct horse battery';

beforeAll(async () => {
  t = await startTestApp({ env: { CORS_ORIGINS: 'http://ide.example.test' } });
  api = new ApiClient(t.baseUrl);
});
afterAll(async () => t?.close());

function refreshCookieOf(headers: Headers): { value: string; attributes: string[] } {
  const cookie = headers.getSetCookie().find((line) => line.startsWith('vf_refresh='));
  if (!cookie) throw new Error(`no vf_refresh cookie in ${JSON.stringify(headers.getSetCookie())}`);
  const [pair, ...attributes] = cookie.split(';').map((part) => part.trim());
  return { value: decodeURIComponent(pair!.slice('vf_refresh='.length)), attributes };
}

async function cookieSession() {
  const email = uniqueEmail('cookie');
  const response = await api.post('/api/v1/auth/register', { body: { email, password, transport: 'cookie' } });
  expect(response.status, response.text).toBe(201);
  return { email, response, cookie: refreshCookieOf(response.headers) };
}

describe('refresh cookie', () => {
  it('signs in with the refresh token in an HttpOnly, SameSite=Strict cookie for the auth routes only', async () => {
    const { response, cookie } = await cookieSession();
    expect(response.body.accessToken).toEqual(expect.any(String));
    expect(response.body).not.toHaveProperty('refreshToken');
    expect(response.text).not.toContain(cookie.value);
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(cookie.attributes).toEqual(
      expect.arrayContaining(['Path=/api/v1/auth', 'HttpOnly', 'SameSite=Strict', `Max-Age=${t.config.auth.refreshTokenTtlSeconds}`]),
    );

    const login = await api.post('/api/v1/auth/login', { body: { email: (await cookieSession()).email, password, transport: 'cookie' } });
    expect(login.status).toBe(200);
    expect(login.body).not.toHaveProperty('refreshToken');
    refreshCookieOf(login.headers);
  });

  it('rotates through the cookie, and a replayed cookie ends the session', async () => {
    const { cookie } = await cookieSession();
    const refreshed = await api.post('/api/v1/auth/refresh', { body: {}, headers: { cookie: `vf_refresh=${cookie.value}` } });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.body).not.toHaveProperty('refreshToken');
    const rotated = refreshCookieOf(refreshed.headers);
    expect(rotated.value).not.toBe(cookie.value);

    const replayed = await api.post('/api/v1/auth/refresh', { body: {}, headers: { cookie: `vf_refresh=${cookie.value}` } });
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.code).toBe('REFRESH_TOKEN_REUSED');
    // The spent cookie is dropped, and the family is gone: the rotated one stops working too.
    expect(refreshCookieOf(replayed.headers).attributes).toContain('Max-Age=0');
    const after = await api.post('/api/v1/auth/refresh', { body: {}, headers: { cookie: `vf_refresh=${rotated.value}` } });
    expect(after.status).toBe(401);
  });

  it('accepts the cookie from the API\'s own origin and the allowed IDE origins only', async () => {
    const { cookie } = await cookieSession();
    const fromPreview = await api.post('/api/v1/auth/refresh', {
      body: {},
      headers: { cookie: `vf_refresh=${cookie.value}`, origin: 'http://abcdefghijklmnopqrstuvwxyz.preview.localhost:4000' },
    });
    expect(fromPreview.status).toBe(403);
    expect(fromPreview.body.error.code).toBe('FORBIDDEN');
    const loggedOutFromElsewhere = await api.post('/api/v1/auth/logout', {
      body: {},
      headers: { cookie: `vf_refresh=${cookie.value}`, origin: 'http://evil.example.test' },
    });
    expect(loggedOutFromElsewhere.status).toBe(403);

    // The refused attempts changed nothing: the cookie still works from the allowed IDE origin.
    const fromIde = await api.post('/api/v1/auth/refresh', {
      body: {},
      headers: { cookie: `vf_refresh=${cookie.value}`, origin: 'http://ide.example.test' },
    });
    expect(fromIde.status).toBe(200);
    const own = refreshCookieOf(fromIde.headers);
    const fromSelf = await api.post('/api/v1/auth/refresh', {
      body: {},
      headers: { cookie: `vf_refresh=${own.value}`, origin: t.baseUrl },
    });
    expect(fromSelf.status).toBe(200);
  });

  it('logs out through the cookie and clears it; without any token, refresh is a clear 401', async () => {
    const { cookie } = await cookieSession();
    const out = await api.post('/api/v1/auth/logout', { body: {}, headers: { cookie: `vf_refresh=${cookie.value}` } });
    expect(out.status).toBe(204);
    expect(refreshCookieOf(out.headers).attributes).toContain('Max-Age=0');
    const spent = await api.post('/api/v1/auth/refresh', { body: {}, headers: { cookie: `vf_refresh=${cookie.value}` } });
    expect(spent.status).toBe(401);

    const none = await api.post('/api/v1/auth/refresh', { body: {} });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('REFRESH_TOKEN_INVALID');
  });

  it('keeps the body transport for programs', async () => {
    const response = await api.post('/api/v1/auth/register', { body: { email: uniqueEmail('body'), password } });
    expect(response.status).toBe(201);
    expect(response.body.refreshToken).toEqual(expect.any(String));
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});
