/**
 * Compact signed tokens (JWT, HS256): a typed claim set with an expiry. Verification accepts exactly one
 * algorithm, compares signatures in constant time and checks the type, so one kind of token cannot pass
 * for another.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from './errors.js';

const ISSUER = 'vaporform';
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export interface TokenClaims {
  typ: string;
  sub: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

export function signToken(
  claims: { typ: string; sub: string; [claim: string]: unknown },
  secret: string,
  ttlSeconds: number,
  now = Date.now(),
): string {
  const iat = Math.floor(now / 1000);
  const payload = Buffer.from(JSON.stringify({ iss: ISSUER, ...claims, iat, exp: iat + ttlSeconds })).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest('base64url');
  return `${HEADER}.${payload}.${signature}`;
}

export function verifyToken(token: string, secret: string, typ: string, now = Date.now()): TokenClaims {
  const invalid = () => new AppError('TOKEN_INVALID', 'The token is not valid');
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid();
  const [header, payload, signature] = parts as [string, string, string];
  let parsedHeader: unknown;
  let claims: unknown;
  try {
    parsedHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
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
  const { iss, typ: type, sub, iat, exp } = claims as Record<string, unknown>;
  if (iss !== ISSUER || type !== typ || typeof sub !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
    throw invalid();
  }
  if (exp * 1000 <= now) throw new AppError('TOKEN_EXPIRED', 'The token has expired');
  return claims as TokenClaims;
}
