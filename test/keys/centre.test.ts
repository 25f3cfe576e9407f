import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPool, type Pool } from '../../core/db/pool.ts';
import {
  cardKeySet,
  ensureMasterKeys,
  generateMasterKey,
  listMasterKeys,
  loadMasterKey,
  rotateMasterKey,
} from '../../core/keys/centre.ts';
import { checkValue, diversify, schoolDiversifier, cardDiversifier } from '../../core/keys/cipher.ts';
import { exportSchoolKeys, issuePsam, openSchoolKeyExport } from '../../core/keys/exchange.ts';
import { KeyStoreError, loadKek, type Kek } from '../../core/keys/kek.ts';
import { OfficeRefusal } from '../../core/keys/refusal.ts';
import { varPath } from '../../core/paths.ts';
import { stackConfig } from '../support/env.ts';

let pool: Pool;
let kek: Kek;
const schoolId = `K-${randomBytes(3).toString('hex').toUpperCase()}`;

beforeAll(async () => {
  pool = createPool(stackConfig().DATABASE_URL);
  kek = loadKek({});
  await pool.query(
    `insert into schools (school_id, name, district, kind) values ($1, '密钥测试学校', '测试区', 'middle')`,
    [schoolId],
  );
  // The bureau's first start: every purpose's SM4 and 3DES master keys.
  for (const algorithm of ['sm4', '3des'] as const) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await ensureMasterKeys(client, kek, algorithm, 'bureau-admin');
      await client.query('commit');
    } finally {
      client.release();
    }
  }
});
afterAll(async () => pool?.end());

describe('the key-encryption key', () => {
  test('lives in var/keys/kek.json (mode 0600), not in the database', async () => {
    const file = varPath('keys', 'kek.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const keyHex = JSON.parse(fs.readFileSync(file, 'utf8')).keyHex as string;
    const { rows } = await pool.query(
      `select count(*)::int as n from key_masters where position(decode($1, 'hex') in wrapped) > 0`,
      [keyHex],
    );
    expect(rows[0].n).toBe(0);
    expect(loadKek({}).kekId).toBe(kek.kekId);
  });

  test('a malformed ONECARD_KEK_HEX is named, without echoing it', () => {
    expect(() => loadKek({ ONECARD_KEK_HEX: 'abc123' })).toThrow('ONECARD_KEK_HEX must be 64 hex digits');
    expect(() => loadKek({ ONECARD_KEK_HEX: 'abc123' })).not.toThrow(/abc123/);
  });

  test('another KEK cannot unwrap, and says which KEK the key needs', async () => {
    const other = loadKek({ ONECARD_KEK_HEX: 'ab'.repeat(32) });
    const attempt = loadMasterKey(pool, other, 'purchase', 'sm4');
    await expect(attempt).rejects.toThrow(KeyStoreError);
    await expect(loadMasterKey(pool, other, 'purchase', 'sm4')).rejects.toThrow(
      new RegExp(`wrapped under key-encryption key ${kek.kekId}`),
    );
  });

  test('a stored key moved to another purpose does not unwrap', async () => {
    const { rows } = await pool.query<{ wrapped: Buffer; kek_id: string; version: number }>(
      `select wrapped, kek_id, version from key_masters where purpose = 'load' and algorithm = 'sm4' and status = 'active'`,
    );
    const { unwrapKey } = await import('../../core/keys/kek.ts');
    expect(() =>
      unwrapKey(kek, rows[0]!.wrapped, `master/purchase/sm4/v${rows[0]!.version}`, rows[0]!.kek_id),
    ).toThrow('does not unwrap');
  });
});

describe('master keys', () => {
  test('exist per purpose and algorithm, each with a check value; no key bytes are listed', async () => {
    const keys = await listMasterKeys(pool);
    for (const purpose of ['purchase', 'load', 'tac', 'pin_unlock', 'external_auth'])
      for (const algorithm of ['sm4', '3des'])
        expect(
          keys.find((k) => k.purpose === purpose && k.algorithm === algorithm && k.status === 'active'),
        ).toMatchObject({
          checkValue: expect.stringMatching(/^[0-9A-F]{6}$/),
        });
    expect(JSON.stringify(keys)).not.toMatch(/wrapped|[0-9a-f]{32}/i);
  });

  test('generating an existing one is refused: rotate instead', async () => {
    await expect(
      generateMasterKey(pool, kek, { purpose: 'tac', algorithm: 'sm4', actor: 'x' }),
    ).rejects.toMatchObject({
      code: 'key_already_exists',
    });
  });

  test('rotation makes the next version active, keeps the old one readable, and is audited', async () => {
    const before = await loadMasterKey(pool, kek, 'pin_unlock', '3des');
    const rotated = await rotateMasterKey(pool, kek, {
      purpose: 'pin_unlock',
      algorithm: '3des',
      actor: 'bureau-admin',
    });
    expect(rotated.version).toBeGreaterThan(before.version);
    const after = await loadMasterKey(pool, kek, 'pin_unlock', '3des');
    expect(after.version).toBe(rotated.version);
    expect(after.key.equals(before.key)).toBe(false);
    const old = await loadMasterKey(pool, kek, 'pin_unlock', '3des', before.version);
    expect(old.key.equals(before.key)).toBe(true);
    const { rows } = await pool.query(
      `select actor, version from key_audit where action = 'rotate' and purpose = 'pin_unlock' and algorithm = '3des' order by audit_id desc limit 1`,
    );
    expect(rows[0]).toEqual({ actor: 'bureau-admin', version: rotated.version });
  });

  test('an unknown version is named', async () => {
    await expect(loadMasterKey(pool, kek, 'tac', 'sm4', 200)).rejects.toThrow(
      'no sm4 master key for tac at version 200',
    );
  });
});

describe('card keys', () => {
  test('are the master diversified by school, then by card serial; each use is audited', async () => {
    const cardNo = '8000000000C0FFEE';
    const set = await cardKeySet(pool, kek, {
      schoolId,
      cardNo,
      algorithm: 'sm4',
      actor: 'office-1',
      reason: 'test',
    });
    const master = await loadMasterKey(pool, kek, 'purchase', 'sm4');
    const expected = diversify(
      'sm4',
      diversify('sm4', master.key, schoolDiversifier(schoolId)),
      cardDiversifier(cardNo),
    );
    expect(set.keys.purchase.equals(expected)).toBe(true);
    expect(set.keys.purchase.equals(set.keys.load)).toBe(false);
    const { rows } = await pool.query(
      `select actor, detail from key_audit where action = 'use' and detail->>'cardNo' = $1`,
      [cardNo],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].detail).toMatchObject({
      reason: 'test',
      schoolId,
      versions: { purchase: master.version },
    });
    expect(JSON.stringify(rows)).not.toMatch(/[0-9a-f]{32}/i);
  });

  test('differ between two cards and between two schools', async () => {
    const a = await cardKeySet(pool, kek, {
      schoolId,
      cardNo: '8000000000000001',
      algorithm: '3des',
      actor: 'o',
      reason: 't',
    });
    const b = await cardKeySet(pool, kek, {
      schoolId,
      cardNo: '8000000000000002',
      algorithm: '3des',
      actor: 'o',
      reason: 't',
    });
    expect(a.keys.tac.equals(b.keys.tac)).toBe(false);
  });
});

describe('export to a school and PSAMs', () => {
  test('an export opens with the passphrase, matches the school keys, and is audited', async () => {
    const passphrase = 'correct horse battery staple';
    const file = await exportSchoolKeys(pool, kek, {
      schoolId,
      algorithm: 'sm4',
      passphrase,
      actor: 'bureau-admin',
    });
    expect(JSON.stringify(file)).not.toContain(passphrase);
    const opened = openSchoolKeyExport(file, passphrase);
    const master = await loadMasterKey(pool, kek, 'load', 'sm4');
    expect(opened.get('load')!.equals(diversify('sm4', master.key, schoolDiversifier(schoolId)))).toBe(true);
    expect(file.entries.find((e) => e.purpose === 'load')!.checkValue).toBe(
      checkValue('sm4', opened.get('load')!),
    );
    expect(() => openSchoolKeyExport(file, 'a wrong passphrase!!')).toThrow(
      'wrong passphrase or altered file',
    );
    const { rows } = await pool.query(
      `select count(*)::int as n from key_audit where action = 'export' and detail->>'schoolId' = $1`,
      [schoolId],
    );
    expect(rows[0].n).toBe(1);
  });

  test('a short passphrase and an unknown school are refused', async () => {
    await expect(
      exportSchoolKeys(pool, kek, { schoolId, algorithm: 'sm4', passphrase: 'short', actor: 'a' }),
    ).rejects.toThrow('passphrase must be at least 16 characters');
    await expect(
      exportSchoolKeys(pool, kek, {
        schoolId: 'NO-SUCH',
        algorithm: 'sm4',
        passphrase: 'x'.repeat(16),
        actor: 'a',
      }),
    ).rejects.toMatchObject({ code: 'school_not_found' });
  });

  test('a PSAM is recorded once with its key versions', async () => {
    const psamNo = randomBytes(6).toString('hex').toUpperCase();
    const psam = await issuePsam(pool, kek, { psamNo, schoolId, algorithm: '3des', actor: 'bureau-admin' });
    expect(psam.versions.purchase).toBeGreaterThan(0);
    await expect(
      issuePsam(pool, kek, { psamNo, schoolId, algorithm: '3des', actor: 'x' }),
    ).rejects.toBeInstanceOf(OfficeRefusal);
    await expect(
      issuePsam(pool, kek, { psamNo: 'xyz', schoolId, algorithm: '3des', actor: 'x' }),
    ).rejects.toThrow('psamNo must be 12 upper-case hex digits, got "xyz"');
  });
});
