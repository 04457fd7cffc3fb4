/**
 * The aescbc key of kube-apiserver's EncryptionConfiguration (spec.encryption, model/encryption.ts):
 * 32 random bytes (AES-256), base64 as the configuration takes it. Made once by `create` and kept in
 * s3://<bucket>/pki/encryption/<name> (src/resources/pki.ts). Nothing here does I/O.
 */
import { randomBytes } from 'node:crypto';

/** The aescbc key: 32 random bytes (AES-256). */
export const AESCBC_KEY_BYTES = 32;

export const generateEncryptionKey = (): string => randomBytes(AESCBC_KEY_BYTES).toString('base64');

/** A stored key as the configuration takes it, or an error saying why it cannot be one (not base64 of 32 bytes). */
export function encryptionKeyProblem(text: string): string | undefined {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return 'is not base64';
  const n = Buffer.from(t, 'base64').length;
  return n === AESCBC_KEY_BYTES ? undefined : `holds ${n} bytes, not ${AESCBC_KEY_BYTES}`;
}
