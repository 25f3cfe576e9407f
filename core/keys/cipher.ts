import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { SecretKey } from './secret.ts';

/**
 * The card cryptography of the platform, on Node's OpenSSL: SM4 (GB/T 32907) by default, two-key 3DES
 * for legacy PSAM cards. Every key is 16 bytes. No function here logs or throws with key bytes.
 *
 * Schemes (stated here because cards, PSAMs and the server must agree byte for byte):
 * - Diversification (分散), PBOC/JR/T 0025 style, from 8 bytes of diversification data D:
 *     3DES: child = 3DES(K, D) || 3DES(K, ~D)        SM4: child = SM4(K, D || ~D)
 *   Bureau master key --(D = school code)--> school key --(D = card application serial)--> card key.
 * - Session keys, from 8 bytes of session data S (random(4) || counter(2) || tail(2)):
 *     3DES: 3DES(K, S)  (8 bytes, used as single DES)  SM4: SM4(K, S || ~S)
 *   For one code path both are returned as 16-byte keys (the 3DES one as S8 || S8, single DES).
 * - MAC: ISO 9797-1 padding method 2 (80 00 ..) and CBC over the cipher's block with a zero IV, first 4
 *   bytes. 3DES keys use the retail MAC (ISO 9797-1 algorithm 3: single-DES CBC, 3DES on the last block).
 * - TAC: a MAC under the card's TAC key; for 3DES the key is left XOR right (PBOC), for SM4 the key itself.
 */
export type Algorithm = 'sm4' | '3des';
export const algorithms: readonly Algorithm[] = ['sm4', '3des'];

export class CipherInputError extends Error {
  override name = 'CipherInputError';
}

const blockSize = (algorithm: Algorithm) => (algorithm === 'sm4' ? 16 : 8);

function ecb(algorithm: Algorithm, key: Buffer, data: Buffer, encrypt: boolean): Buffer {
  if (key.length !== 16) throw new CipherInputError(`${algorithm} key must be 16 bytes, got ${key.length}`);
  if (data.length % blockSize(algorithm) !== 0)
    throw new CipherInputError(
      `${algorithm} data must be a multiple of ${blockSize(algorithm)} bytes, got ${data.length}`,
    );
  const name = algorithm === 'sm4' ? 'sm4-ecb' : 'des-ede-ecb';
  const cipher = encrypt ? createCipheriv(name, key, null) : createDecipheriv(name, key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function encryptBlocks(algorithm: Algorithm, key: SecretKey, data: Buffer): Buffer {
  return ecb(algorithm, key.bytes(), data, true);
}

export function decryptBlocks(algorithm: Algorithm, key: SecretKey, data: Buffer): Buffer {
  return ecb(algorithm, key.bytes(), data, false);
}

const invert = (data: Buffer) => Buffer.from(data.map((b) => ~b & 0xff));

function eightBytes(data: Buffer, what: string): Buffer {
  if (data.length !== 8) throw new CipherInputError(`${what} must be 8 bytes, got ${data.length}`);
  return data;
}

/** A child key from 8 bytes of diversification data (see the scheme above). */
export function diversify(algorithm: Algorithm, parent: SecretKey, data: Buffer): SecretKey {
  const d = eightBytes(data, 'diversification data');
  if (algorithm === 'sm4') return new SecretKey(encryptBlocks('sm4', parent, Buffer.concat([d, invert(d)])));
  return new SecretKey(encryptBlocks('3des', parent, Buffer.concat([d, invert(d)])));
}

/** A session key from 8 bytes of session data; the 3DES one is single DES (S8 || S8). */
export function sessionKey(algorithm: Algorithm, cardKey: SecretKey, data: Buffer): SecretKey {
  const s = eightBytes(data, 'session data');
  if (algorithm === 'sm4') return new SecretKey(encryptBlocks('sm4', cardKey, Buffer.concat([s, invert(s)])));
  const half = encryptBlocks('3des', cardKey, s);
  return new SecretKey(Buffer.concat([half, half]));
}

function pad(data: Buffer, size: number): Buffer {
  const padded = Buffer.alloc(Math.floor(data.length / size + 1) * size);
  data.copy(padded);
  padded[data.length] = 0x80;
  return padded;
}

/** The full CBC-MAC block (before truncation); exported for the known-answer tests. */
export function macBlock(algorithm: Algorithm, key: SecretKey, data: Buffer): Buffer {
  const size = blockSize(algorithm);
  const padded = pad(data, size);
  const k = key.bytes();
  // Retail MAC: single DES (EDE with K1 = K2) on every block, then decrypt K2 / encrypt K1 on the last.
  const left = algorithm === 'sm4' ? k : Buffer.concat([k.subarray(0, 8), k.subarray(0, 8)]);
  let chain: Buffer = Buffer.alloc(size);
  for (let offset = 0; offset < padded.length; offset += size) {
    const block = Buffer.from(padded.subarray(offset, offset + size).map((b, i) => b ^ chain[i]!));
    chain = ecb(algorithm, left, block, true);
  }
  if (algorithm === '3des' && !k.subarray(0, 8).equals(k.subarray(8))) {
    const right = Buffer.concat([k.subarray(8), k.subarray(8)]);
    chain = ecb('3des', left, ecb('3des', right, chain, false), true);
  }
  return chain;
}

export function mac(algorithm: Algorithm, key: SecretKey, data: Buffer): Buffer {
  return macBlock(algorithm, key, data).subarray(0, 4);
}

/** The key a TAC is computed with: for 3DES the halves XORed (as PBOC), for SM4 the key itself. */
export function tacKey(algorithm: Algorithm, cardTacKey: SecretKey): SecretKey {
  if (algorithm === 'sm4') return cardTacKey;
  const k = cardTacKey.bytes();
  const half = Buffer.from(k.subarray(0, 8).map((b, i) => b ^ k[8 + i]!));
  return new SecretKey(Buffer.concat([half, half]));
}

/** Key check value: the first 3 bytes of E(K, zeros), safe to show and store. */
export function checkValue(algorithm: Algorithm, key: SecretKey): string {
  return encryptBlocks(algorithm, key, Buffer.alloc(blockSize(algorithm)))
    .subarray(0, 3)
    .toString('hex')
    .toUpperCase();
}

/** 8 bytes of diversification data for a school: the first 8 bytes of SM3(school id). */
export function schoolDiversifier(schoolId: string): Buffer {
  return createHash('sm3').update(`school:${schoolId}`).digest().subarray(0, 8);
}

/** 8 bytes of diversification data for a card: its 16-hex-digit application serial (the card number). */
export function cardDiversifier(cardNo: string): Buffer {
  if (!/^[0-9A-F]{16}$/.test(cardNo))
    throw new CipherInputError(`card application serial must be 16 hex digits, got "${cardNo}"`);
  return Buffer.from(cardNo, 'hex');
}

/** The 6-byte terminal number (终端机编号) in MACs and TACs: the first 6 bytes of SM3(terminal id). */
export function terminalNumber(terminalId: string): Buffer {
  return createHash('sm3').update(`terminal:${terminalId}`).digest().subarray(0, 6);
}
