/**
 * Envelope encryption: a fresh 256-bit data key per secret value (AES-256-GCM, the secret's id and owner as
 * associated data), the data key itself sealed by a master key (its associated data: the secret's id, so a
 * wrapped key moved to another row does not open).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** nonce | tag | ciphertext */
export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]);
}

/** Throws when the key, the associated data or the bytes are not those it was sealed with. */
export function unseal(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed data too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
}

/** A master key's id: derived from the key, so a wrong key can never pass for the right one by its id. */
export function masterKeyId(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update('vaporform master key id').digest('hex').slice(0, 16);
}

const CHECK_TEXT = 'vaporform master key check';

export function checkValue(masterKey: Buffer): Buffer {
  return seal(masterKey, Buffer.from(CHECK_TEXT), `check:${masterKeyId(masterKey)}`);
}

export function verifyCheckValue(masterKey: Buffer, sealed: Buffer): boolean {
  try {
    return unseal(masterKey, sealed, `check:${masterKeyId(masterKey)}`).toString() === CHECK_TEXT;
  } catch {
    return false;
  }
}

/** Whose a secret is: part of its value's associated data. */
export type SecretOwner = { projectId: string } | { userId: string };

function valueAad(secretId: string, owner: SecretOwner): string {
  return 'projectId' in owner ? `secret:${secretId}:project:${owner.projectId}` : `secret:${secretId}:user:${owner.userId}`;
}

function keyAad(secretId: string): string {
  return `data-key:${secretId}`;
}

export interface SealedSecret {
  ciphertext: Buffer;
  wrappedKey: Buffer;
  fingerprint: string;
}

/** The short fingerprint a listing shows: an HMAC of the value under a key derived from the master key. */
export function fingerprint(masterKey: Buffer, value: string): string {
  const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'vaporform secret fingerprint', 32));
  return createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 8);
}

export function sealSecret(masterKey: Buffer, secretId: string, owner: SecretOwner, value: string): SealedSecret {
  const dataKey = randomBytes(32);
  try {
    return {
      ciphertext: seal(dataKey, Buffer.from(value, 'utf8'), valueAad(secretId, owner)),
      wrappedKey: seal(masterKey, dataKey, keyAad(secretId)),
      fingerprint: fingerprint(masterKey, value),
    };
  } finally {
    dataKey.fill(0);
  }
}

export function openSecret(masterKey: Buffer, secretId: string, owner: SecretOwner, sealed: { ciphertext: Buffer; wrappedKey: Buffer }): string {
  const dataKey = unseal(masterKey, sealed.wrappedKey, keyAad(secretId));
  try {
    return unseal(dataKey, sealed.ciphertext, valueAad(secretId, owner)).toString('utf8');
  } finally {
    dataKey.fill(0);
  }
}

/** The data key re-wrapped under another master key; the value's ciphertext stays as it is. */
export function rewrapKey(from: Buffer, to: Buffer, secretId: string, wrappedKey: Buffer): Buffer {
  const dataKey = unseal(from, wrappedKey, keyAad(secretId));
  try {
    return seal(to, dataKey, keyAad(secretId));
  } finally {
    dataKey.fill(0);
  }
}
