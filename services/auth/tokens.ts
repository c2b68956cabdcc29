/**
 * Access tokens are JWTs signed with HS256; refresh tokens and API keys are random secrets stored only as
 * SHA-256 hashes. Verification accepts exactly one algorithm and compares signatures in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../lib/errors.js';
import { signToken, verifyToken } from '../../lib/signed-token.js';

export interface AccessClaims {
  sub: string;
  /** The session (refresh token family) the token was issued in. */
  sid: string | undefined;
  iat: number;
  exp: number;
}

export function signAccessToken(
  userId: string,
  secret: string,
  ttlSeconds: number,
  now = Date.now(),
  sessionId?: string,
): string {
  return signToken({ typ: 'access', sub: userId, ...(sessionId ? { sid: sessionId } : {}) }, secret, ttlSeconds, now);
}

export function verifyAccessToken(token: string, secret: string, now = Date.now()): AccessClaims {
  try {
    const { sub, sid, iat, exp } = verifyToken(token, secret, 'access', now);
    return { sub, sid: typeof sid === 'string' ? sid : undefined, iat, exp };
  } catch (err) {
    if (err instanceof AppError && err.code === 'TOKEN_EXPIRED') {
      throw new AppError('TOKEN_EXPIRED', 'The access token has expired');
    }
    throw new AppError('TOKEN_INVALID', 'The access token is not valid');
  }
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
