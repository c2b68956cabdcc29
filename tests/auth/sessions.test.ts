import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../services/auth/tokens.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ApiClient, signUp, uniqueEmail } from '../helpers/http.js';

let t: TestApp;
let api: ApiClient;

beforeAll(async () => {
  t = await startTestApp({
    env: { LOGIN_FAILURES_PER_ACCOUNT: '3', LOGIN_ATTEMPTS_PER_ADDRESS: '1000', ACCESS_TOKEN_TTL_SECONDS: '900' },
  });
  api = new ApiClient(t.baseUrl);
});
afterAll(async () => t?.close());

async function countRows(table: string): Promise<number> {
  const { rows } = await t.database.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

describe('register and login', () => {
  it('registers, returns a session, and stores the email lower-cased', async () => {
    const email = uniqueEmail('Mixed').replace('mixed', 'MiXeD');
    const response = await api.post('/api/v1/auth/register', { body: { email, password: 'long enough pw', name: 'M' } });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(response.body.user.email).toBe(email.toLowerCase());
    expect(response.body.accessToken.split('.')).toHaveLength(3);
    expect(response.body.refreshToken.length).toBeGreaterThan(30);
    expect(response.body.user).not.toHaveProperty('passwordHash');

    const me = await api.get('/api/v1/auth/me', { token: response.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: response.body.user.id, email: email.toLowerCase(), name: 'M' });
  });

  it('refuses a second account with the same email, in any case, with 409', async () => {
    const user = await signUp(api, 'dup');
    const before = await countRows('users');
    const response = await api.post('/api/v1/auth/register', {
      body: { email: user.email.toUpperCase(), password: 'another password' },
    });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('EMAIL_TAKEN');
    expect(await countRows('users')).toBe(before);
  });

  it('refuses weak, overlong and malformed credentials with 400 and writes nothing', async () => {
    const before = await countRows('users');
    for (const body of [
      { email: uniqueEmail(), password: 'short' },
      { email: uniqueEmail(), password: 'é'.repeat(40) }, // 80 bytes: past bcrypt's 72
      { email: 'not-an-email', password: 'long enough pw' },
      { email: uniqueEmail(), password: 'long enough pw', role: 'admin' },
    ]) {
      const response = await api.post('/api/v1/auth/register', { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect(await countRows('users')).toBe(before);
  });

  it('logs in with the right password and not with a wrong one', async () => {
    const user = await signUp(api, 'login', 'the right password');
    const ok = await api.post('/api/v1/auth/login', { body: { email: user.email, password: 'the right password' } });
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(user.userId);
    const wrong = await api.post('/api/v1/auth/login', { body: { email: user.email, password: 'the wrong password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');
    const nobody = await api.post('/api/v1/auth/login', { body: { email: uniqueEmail(), password: 'whatever pw' } });
    expect(nobody.status).toBe(401);
    expect(nobody.body.error.code).toBe('INVALID_CREDENTIALS');
  });

  it('stores SQL-looking input verbatim and harmlessly', async () => {
    const before = await countRows('users');
    const name = "Robert'); DROP TABLE users;--";
    const response = await api.post('/api/v1/auth/register', {
      body: { email: uniqueEmail('bobby'), password: "' OR '1'='1' --", name },
    });
    expect(response.status).toBe(201);
    expect(response.body.user.name).toBe(name);
    const login = await api.post('/api/v1/auth/login', {
      body: { email: "' OR 1=1 --", password: "' OR '1'='1' --" },
    });
    expect(login.status).toBe(401);
    // The table is still there, with exactly the one account more.
    expect(await countRows('users')).toBe(before + 1);
  });
});

describe('access tokens', () => {
  it('refuses a tampered token', async () => {
    const user = await signUp(api, 'tamper');
    const [header, payload, signature] = user.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
    for (const token of [
      `${header}.${forged}.${signature}`,
      `${header}.${payload}.${signature!.slice(0, -2)}xx`,
      `${header}.${payload}`,
      'garbage',
    ]) {
      const response = await api.get('/api/v1/auth/me', { token });
      expect(response.status, token).toBe(401);
      expect(response.body.error.code).toBe('TOKEN_INVALID');
    }
  });

  it('refuses the "none" algorithm and a token signed with another key', async () => {
    const user = await signUp(api, 'alg');
    const [, payload] = user.accessToken.split('.');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect((await api.get('/api/v1/auth/me', { token: `${none}.${payload}.` })).status).toBe(401);
    const otherKey = signAccessToken(user.userId, 'x'.repeat(40), 900);
    expect((await api.get('/api/v1/auth/me', { token: otherKey })).status).toBe(401);
    // Same header and payload, HMAC with a guessable key: still refused.
    const [h, p] = otherKey.split('.');
    const guessed = createHmac('sha256', '').update(`${h}.${p}`).digest('base64url');
    expect((await api.get('/api/v1/auth/me', { token: `${h}.${p}.${guessed}` })).status).toBe(401);
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const user = await signUp(api, 'expired');
    const expired = signAccessToken(user.userId, t.config.auth.jwtSecret, 900, Date.now() - 901_000);
    const response = await api.get('/api/v1/auth/me', { token: expired });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('TOKEN_EXPIRED');
  });

  it('issues access tokens that live 15 minutes', async () => {
    const user = await signUp(api, 'ttl');
    const claims = JSON.parse(Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(15 * 60);
  });
});

describe('refresh tokens', () => {
  it('rotates: the new token works, the old one no longer does', async () => {
    const user = await signUp(api, 'rotate');
    const first = await api.post('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(user.refreshToken);
    expect((await api.get('/api/v1/auth/me', { token: first.body.accessToken })).status).toBe(200);
    const second = await api.post('/api/v1/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
    expect(second.status).toBe(200);
  });

  it('revokes the whole family when a rotated token is used again', async () => {
    const user = await signUp(api, 'reuse');
    const rotated = await api.post('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(rotated.status).toBe(200);
    // An attacker replays the first token...
    const replay = await api.post('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('REFRESH_TOKEN_REUSED');
    // ...and the legitimate newer token is dead too.
    const legit = await api.post('/api/v1/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } });
    expect(legit.status).toBe(401);
  });

  it('lets only one of two simultaneous refreshes with one token through', async () => {
    const user = await signUp(api, 'race');
    const results = await Promise.all([
      api.post('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } }),
      api.post('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('keeps refresh tokens for 7 days, stored only as hashes', async () => {
    const user = await signUp(api, 'store');
    const { rows } = await t.database.db.query<{ token_hash: Buffer; expires_at: Date; created_at: Date }>(
      'SELECT token_hash, expires_at, created_at FROM refresh_tokens WHERE user_id = $1',
      [user.userId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash.toString('utf8')).not.toContain(user.refreshToken);
    const days = (rows[0]!.expires_at.getTime() - rows[0]!.created_at.getTime()) / 86_400_000;
    expect(days).toBeCloseTo(7, 1);
  });

  it('logs out: the refresh token stops working; logging out twice is fine', async () => {
    const user = await signUp(api, 'logout');
    expect((await api.post('/api/v1/auth/logout', { body: { refreshToken: user.refreshToken } })).status).toBe(204);
    expect((await api.post('/api/v1/auth/logout', { body: { refreshToken: user.refreshToken } })).status).toBe(204);
    const refresh = await api.post('/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(refresh.status).toBe(401);
  });
});

describe('login rate limits', () => {
  it('locks an account after repeated failures, whatever the password afterwards', async () => {
    const user = await signUp(api, 'locked', 'the real password');
    for (let i = 0; i < 3; i++) {
      const response = await api.post('/api/v1/auth/login', { body: { email: user.email, password: `guess ${i} pw` } });
      expect(response.status).toBe(401);
    }
    const blocked = await api.post('/api/v1/auth/login', { body: { email: user.email, password: 'the real password' } });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Other accounts are not affected.
    const other = await signUp(api, 'free', 'other password');
    const ok = await api.post('/api/v1/auth/login', { body: { email: other.email, password: 'other password' } });
    expect(ok.status).toBe(200);
  });

  it('lets no more than the limit of guesses through when they arrive all at once', async () => {
    const user = await signUp(api, 'parallel', 'the real password');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api.post('/api/v1/auth/login', { body: { email: user.email, password: `guess ${i} pw` } })),
    );
    const codes = responses.map((response) => response.body.error.code as string);
    // LOGIN_FAILURES_PER_ACCOUNT is 3 in this file: three passwords were checked, every other guess refused unchecked.
    expect(codes.filter((code) => code === 'INVALID_CREDENTIALS')).toHaveLength(3);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(17);
  });

  it('limits attempts per address', async () => {
    const limited = await startTestApp({ env: { LOGIN_ATTEMPTS_PER_ADDRESS: '4' } });
    try {
      const client = new ApiClient(limited.baseUrl);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const response = await client.post('/api/v1/auth/login', { body: { email: uniqueEmail(), password: 'nope nope' } });
        statuses.push(response.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('password hashing', () => {
  it('uses bcrypt with cost 12 by default', async () => {
    const defaults = await startTestApp({ env: { BCRYPT_COST: '' } });
    try {
      expect(defaults.config.auth.bcryptCost).toBe(12);
      const user = await signUp(new ApiClient(defaults.baseUrl), 'cost');
      const { rows } = await defaults.database.db.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE id = $1',
        [user.userId],
      );
      expect(rows[0]!.password_hash).toMatch(/^\$2[aby]\$12\$/);
    } finally {
      await defaults.close();
    }
  });
});
