import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { varPath } from '../paths.ts';
import { SecretKey } from './secret.ts';

/**
 * The key-encryption key (KEK) that wraps every stored key, kept OUT of the database:
 * - production: `ONECARD_KEK_HEX` (64 hex digits, AES-256), from the operator's secret store or HSM export;
 * - embedded default: `var/keys/kek.json` (mode 0600), made at first start. Back it up apart from the
 *   database: a database backup alone cannot unwrap a single key, and without this file nobody can.
 * The KEK id (first 16 hex of SM3 of the key) is stored beside each wrapped key, so a wrong KEK is named
 * as such instead of failing with a cryptic tag error.
 */
export interface Kek {
  kekId: string;
  key: SecretKey;
  source: 'env' | 'file';
}

export class KeyStoreError extends Error {
  override name = 'KeyStoreError';
}

const kekIdOf = (key: Buffer) => createHash('sm3').update(key).digest('hex').slice(0, 16).toUpperCase();

export function loadKek(env: NodeJS.ProcessEnv = process.env): Kek {
  const fromEnv = env.ONECARD_KEK_HEX;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^[0-9a-fA-F]{64}$/.test(fromEnv))
      throw new KeyStoreError('ONECARD_KEK_HEX must be 64 hex digits (a 256-bit key); it is not');
    const key = Buffer.from(fromEnv, 'hex');
    return { kekId: kekIdOf(key), key: new SecretKey(key), source: 'env' };
  }
  const file = varPath('keys', 'kek.json');
  if (!fs.existsSync(file)) createKekFile(file);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { keyHex?: string };
  if (!parsed.keyHex || !/^[0-9a-f]{64}$/.test(parsed.keyHex))
    throw new KeyStoreError(`${file} is not a key-encryption key file (keyHex must be 64 hex digits)`);
  const key = Buffer.from(parsed.keyHex, 'hex');
  return { kekId: kekIdOf(key), key: new SecretKey(key), source: 'file' };
}

/** Atomic: two processes starting at once both end up with the one file that won. */
function createKekFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify({ keyHex: randomBytes(32).toString('hex') }), { mode: 0o600 });
  try {
    fs.linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** AES-256-GCM: nonce(12) || tag(16) || ciphertext; the AAD names what the key is, so rows cannot be swapped. */
export function wrapKey(kek: Kek, key: SecretKey, aad: string): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek.key.bytes(), nonce);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(key.bytes()), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]);
}

export function unwrapKey(kek: Kek, wrapped: Buffer, aad: string, storedKekId: string): SecretKey {
  if (storedKekId !== kek.kekId)
    throw new KeyStoreError(
      `key ${aad} was wrapped under key-encryption key ${storedKekId}, but this process has ${kek.kekId}`,
    );
  const decipher = createDecipheriv('aes-256-gcm', kek.key.bytes(), wrapped.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(wrapped.subarray(12, 28));
  try {
    return new SecretKey(Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]));
  } catch {
    throw new KeyStoreError(`key ${aad} does not unwrap: the stored row was altered or belongs elsewhere`);
  }
}
