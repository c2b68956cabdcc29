/** Password hashing with bcrypt (pure JS: nothing native to install). */
import bcrypt from 'bcryptjs';

/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut. */
export const MAX_PASSWORD_BYTES = 72;

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/**
 * A hash to compare against when the account does not exist, so that a login for an unknown email takes
 * as long as one for a known email and timing does not reveal which accounts exist.
 */
export function makeDummyHash(cost: number): Promise<string> {
  return bcrypt.hash('not-a-password-of-anyone', cost);
}
