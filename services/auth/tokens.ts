/**
 * Access tokens are JWTs signed with HS256; refresh tokens and API keys are random secrets stored only as
 * SHA-256 hashes. Verification accepts exactly one algorithm and compares signatures in constant time.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../lib/errors.js';

const ISSUER = 'vaporform';
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export interface AccessClaims {
  sub: string;
  iat: number;
  exp: number;
}

export function signAccessToken(userId: string, secret: string, ttlSeconds: number, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const payload = Buffer.from(
    JSON.stringify({ iss: ISSUER, typ: 'access', sub: userId, iat, exp: iat + ttlSeconds }),
  ).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest('base64url');
  return `${HEADER}.${payload}.${signature}`;
}

export function verifyAccessToken(token: string, secret: string, now = Date.now()): AccessClaims {
  const invalid = () => new AppError('TOKEN_INVALID', 'The access token is not valid');
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid();
  const [header, payload, signature] = parts as [string, string, string];
  let parsedHeader: unknown;
  let claims: Record<string, unknown>;
  try {
    parsedHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid();
  }
  // Only HS256: a token claiming "none" or an asymmetric algorithm is refused before any signature check.
  if (typeof parsedHeader !== 'object' || parsedHeader === null || (parsedHeader as { alg?: unknown }).alg !== 'HS256') {
    throw invalid();
  }
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  if (typeof claims !== 'object' || claims === null) throw invalid();
  const { iss, typ, sub, iat, exp } = claims;
  if (iss !== ISSUER || typ !== 'access' || typeof sub !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
    throw invalid();
  }
  if (exp * 1000 <= now) throw new AppError('TOKEN_EXPIRED', 'The access token has expired');
  return { sub, iat, exp };
}

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const KEY_PREFIX_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const API_KEY_PATTERN = /^(vf_[A-Za-z0-9]{10})_([A-Za-z0-9_-]{43})$/;

/** A new API key: `vf_<10 visible characters>_<secret>`. The visible prefix identifies it in listings. */
export function newApiKey(): { prefix: string; key: string; hash: Buffer } {
  const raw = randomBytes(10);
  let id = '';
  for (const byte of raw) id += KEY_PREFIX_ALPHABET[byte % KEY_PREFIX_ALPHABET.length];
  const prefix = `vf_${id}`;
  const key = `${prefix}_${newSecret(32)}`;
  return { prefix, key, hash: hashSecret(key) };
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('vf_');
}

export function parseApiKey(key: string): { prefix: string } | null {
  const match = API_KEY_PATTERN.exec(key);
  return match ? { prefix: match[1]! } : null;
}
