import { createCipheriv, createDecipheriv } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  CipherInputError,
  cardDiversifier,
  checkValue,
  decryptBlocks,
  diversify,
  encryptBlocks,
  mac,
  macBlock,
  sessionKey,
  tacKey,
} from '../../core/keys/cipher.ts';
import { SecretKey } from '../../core/keys/secret.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const key = (s: string) => new SecretKey(hex(s));

describe('published known-answer vectors', () => {
  test('SM4, GB/T 32907-2016 appendix A example 1', () => {
    const k = key('0123456789abcdeffedcba9876543210');
    const cipher = encryptBlocks('sm4', k, hex('0123456789abcdeffedcba9876543210'));
    expect(cipher.toString('hex')).toBe('681edf34d206965e86b3e94f536e4246');
    expect(decryptBlocks('sm4', k, cipher).toString('hex')).toBe('0123456789abcdeffedcba9876543210');
  });

  test('SM4, GB/T 32907-2016 appendix A example 2: 1,000,000 encryptions', () => {
    const cipher = createCipheriv('sm4-ecb', hex('0123456789abcdeffedcba9876543210'), null);
    cipher.setAutoPadding(false);
    let block = hex('0123456789abcdeffedcba9876543210');
    for (let i = 0; i < 1_000_000; i++) block = cipher.update(block);
    expect(block.toString('hex')).toBe('595298c7c6fd271f0402f804c33d3f66');
  });

  test('DES, FIPS PUB 81 appendix B ("Now is t"), as 3DES with K1 = K2', () => {
    const k = key('0123456789abcdef 0123456789abcdef');
    expect(encryptBlocks('3des', k, hex('4e6f772069732074')).toString('hex')).toBe('3fa40e8a984d4815');
  });

  test('two-key 3DES is E(K1) D(K2) E(K1) (ANSI X9.52 keying option 2)', () => {
    const k = hex('0123456789abcdef fedcba9876543210');
    const p = hex('4e6f772069732074');
    const expected = singleDes(
      k.subarray(0, 8),
      singleDes(k.subarray(8), singleDes(k.subarray(0, 8), p, true), false),
      true,
    );
    expect(encryptBlocks('3des', new SecretKey(k), p)).toEqual(expected);
  });
});

/** Single DES through OpenSSL's EDE with K1 = K2 (plain DES sits in OpenSSL 3's legacy provider). */
function singleDes(k8: Buffer, data: Buffer, encrypt: boolean): Buffer {
  const both = Buffer.concat([k8, k8]);
  const c = encrypt ? createCipheriv('des-ede-ecb', both, null) : createDecipheriv('des-ede-ecb', both, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

describe('the platform schemes, pinned', () => {
  const master = key('0123456789abcdeffedcba9876543210');
  const data = hex('0011223344556677');

  test('diversification: SM4(K, D || ~D); 3DES(K, D) || 3DES(K, ~D)', () => {
    const sm4 = diversify('sm4', master, data);
    expect(sm4.bytes().toString('hex')).toBe('ce2cee70778c1c6277e6551511fb9946');
    expect(sm4.bytes()).toEqual(encryptBlocks('sm4', master, hex('0011223344556677 ffeeddccbbaa9988')));
    const des = diversify('3des', master, data);
    expect(des.bytes().toString('hex')).toBe('31a7364cac91ca392b38a125c6701493');
    expect(des.bytes().subarray(8)).toEqual(encryptBlocks('3des', master, hex('ffeeddccbbaa9988')));
  });

  test('session keys and MACs', () => {
    expect(sessionKey('3des', master, data).bytes().toString('hex')).toBe('31a7364cac91ca3931a7364cac91ca39');
    const text = Buffer.from('Now is the time for all ');
    expect(macBlock('sm4', master, text).toString('hex')).toBe('d3cfa47f45cc36f3d6fc35214380ee74');
    expect(macBlock('3des', master, text).toString('hex')).toBe('e9086230ca3be796');
    expect(mac('sm4', master, text)).toHaveLength(4);
  });

  test('a 3DES TAC key is the halves XORed; an SM4 one is the key itself', () => {
    const k = key('00112233445566778899aabbccddeeff');
    expect(tacKey('3des', k).bytes().toString('hex')).toBe('8888888888888888'.repeat(2));
    expect(tacKey('sm4', k).equals(k)).toBe(true);
  });

  test('check values are 6 hex digits and differ per key', () => {
    expect(checkValue('sm4', master)).toMatch(/^[0-9A-F]{6}$/);
    expect(checkValue('sm4', master)).not.toBe(checkValue('sm4', key('00'.repeat(16))));
  });
});

describe('bad input and key hygiene', () => {
  test.each([
    [
      'a short key',
      () => encryptBlocks('sm4', key('0011'), Buffer.alloc(16)),
      'sm4 key must be 16 bytes, got 2',
    ],
    [
      'a partial block',
      () => encryptBlocks('3des', key('00'.repeat(16)), Buffer.alloc(5)),
      'multiple of 8 bytes, got 5',
    ],
    [
      'short diversification data',
      () => diversify('sm4', key('00'.repeat(16)), Buffer.alloc(4)),
      'must be 8 bytes, got 4',
    ],
    ['a bad card serial', () => cardDiversifier('12345'), 'must be 16 hex digits, got "12345"'],
  ])('%s is named', (_name, run, message) => {
    expect(run).toThrow(CipherInputError);
    expect(run).toThrow(message);
  });

  test('a key never prints its bytes', () => {
    const k = key('0123456789abcdeffedcba9876543210');
    for (const shown of [String(k), JSON.stringify({ k }), inspect({ k }), `${k}`])
      expect(shown).not.toMatch(/0123456789/i);
    try {
      encryptBlocks('sm4', k, Buffer.alloc(3));
    } catch (error) {
      expect((error as Error).message).not.toMatch(/0123456789/i);
    }
  });
});
