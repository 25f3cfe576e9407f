import { createCipheriv, createDecipheriv, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { TacVerifier } from '../ledger/offline/tac.ts';
import {
  checkValue,
  mac,
  schoolDiversifier,
  tacKey,
  diversify,
  cardDiversifier,
  type Algorithm,
} from './cipher.ts';
import { audit, keyPurposes, loadMasterKey, schoolKeyOf, type KeyPurpose } from './centre.ts';
import type { Kek } from './kek.ts';
import { purchaseTacData } from './purse-data.ts';
import { OfficeRefusal } from './refusal.ts';
import { SecretKey } from './secret.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * A school's key set (its diversified keys, one per purpose) for its own card office or an offline PSAM
 * writer, encrypted with AES-256-GCM under a key made by scrypt from a passphrase the school holds.
 * The file carries check values so the school can confirm what it imported without seeing the keys.
 */
export interface SchoolKeyExport {
  format: 'onecard-school-keys/1';
  schoolId: string;
  algorithm: Algorithm;
  kdf: { name: 'scrypt'; n: number; r: number; p: number; salt: string };
  entries: Array<{ purpose: KeyPurpose; version: number; checkValue: string; sealed: string }>;
}

const kdfCost = { n: 2 ** 15, r: 8, p: 1 };
const passphraseMin = 16;

function passphraseKey(passphrase: string, salt: Buffer, cost = kdfCost): Buffer {
  return scryptSync(passphrase, salt, 32, { N: cost.n, r: cost.r, p: cost.p, maxmem: 128 * 1024 * 1024 });
}

function seal(key: Buffer, plain: Buffer, aad: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
}

export async function exportSchoolKeys(
  db: Queryable,
  kek: Kek,
  input: { schoolId: string; algorithm: Algorithm; passphrase: string; actor: string },
): Promise<SchoolKeyExport> {
  if (input.passphrase.length < passphraseMin)
    throw new OfficeRefusal('invalid_input', `passphrase must be at least ${passphraseMin} characters`);
  const { rows } = await db.query(`select 1 from schools where school_id = $1`, [input.schoolId]);
  if (rows.length === 0) throw new OfficeRefusal('school_not_found', `no school ${input.schoolId}`);
  const salt = randomBytes(16);
  const wrapping = passphraseKey(input.passphrase, salt);
  const entries: SchoolKeyExport['entries'] = [];
  for (const purpose of keyPurposes) {
    const master = await loadMasterKey(db, kek, purpose, input.algorithm);
    const key = schoolKeyOf(input.algorithm, master.key, input.schoolId);
    entries.push({
      purpose,
      version: master.version,
      checkValue: checkValue(input.algorithm, key),
      sealed: seal(wrapping, key.bytes(), `${input.schoolId}/${purpose}/v${master.version}`),
    });
  }
  await audit(db, {
    action: 'export',
    actor: input.actor,
    algorithm: input.algorithm,
    detail: {
      schoolId: input.schoolId,
      versions: Object.fromEntries(entries.map((e) => [e.purpose, e.version])),
    },
  });
  return {
    format: 'onecard-school-keys/1',
    schoolId: input.schoolId,
    algorithm: input.algorithm,
    kdf: { name: 'scrypt', ...kdfCost, salt: salt.toString('base64') },
    entries,
  };
}

/** The school's side: opens an export, checking every key against its check value. */
export function openSchoolKeyExport(file: SchoolKeyExport, passphrase: string): Map<KeyPurpose, SecretKey> {
  const wrapping = passphraseKey(passphrase, Buffer.from(file.kdf.salt, 'base64'), file.kdf);
  const keys = new Map<KeyPurpose, SecretKey>();
  for (const entry of file.entries) {
    const sealed = Buffer.from(entry.sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', wrapping, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${file.schoolId}/${entry.purpose}/v${entry.version}`));
    decipher.setAuthTag(sealed.subarray(12, 28));
    let key: SecretKey;
    try {
      key = new SecretKey(Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]));
    } catch {
      throw new OfficeRefusal(
        'invalid_input',
        `key ${entry.purpose} does not open: wrong passphrase or altered file`,
      );
    }
    const expected = Buffer.from(entry.checkValue, 'hex');
    if (!timingSafeEqual(Buffer.from(checkValue(file.algorithm, key), 'hex'), expected))
      throw new OfficeRefusal('invalid_input', `key ${entry.purpose} does not match its check value`);
    keys.set(entry.purpose, key);
  }
  return keys;
}

/**
 * Records a PSAM for a terminal and returns the school-level purchase key it carries (a terminal
 * diversifies it per card). The key leaves here only to be written into the PSAM.
 */
export async function issuePsam(
  db: Queryable,
  kek: Kek,
  input: { psamNo: string; schoolId: string; terminalId?: string; algorithm: Algorithm; actor: string },
): Promise<{ psamNo: string; purchaseKey: SecretKey; versions: Record<string, number> }> {
  if (!/^[0-9A-F]{12}$/.test(input.psamNo))
    throw new OfficeRefusal(
      'invalid_input',
      `psamNo must be 12 upper-case hex digits, got "${input.psamNo}"`,
    );
  const master = await loadMasterKey(db, kek, 'purchase', input.algorithm);
  const versions = { purchase: master.version };
  const inserted = await db.query(
    `insert into psam_cards (psam_no, school_id, terminal_id, algorithm, key_versions, issued_by)
     values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
    [
      input.psamNo,
      input.schoolId,
      input.terminalId ?? null,
      input.algorithm,
      JSON.stringify(versions),
      input.actor,
    ],
  );
  if (inserted.rowCount === 0)
    throw new OfficeRefusal('psam_already_exists', `PSAM ${input.psamNo} is already issued`);
  await audit(db, {
    action: 'psam_issue',
    actor: input.actor,
    purpose: 'purchase',
    algorithm: input.algorithm,
    version: master.version,
    detail: { psamNo: input.psamNo, schoolId: input.schoolId, terminalId: input.terminalId ?? null },
  });
  return {
    psamNo: input.psamNo,
    purchaseKey: schoolKeyOf(input.algorithm, master.key, input.schoolId),
    versions,
  };
}

/**
 * The server's TAC check for offline purchase records (the ledger's TacVerifier), for a known set of
 * cards: each card's TAC key is diversified from the TAC master version the card was personalised with.
 * One audit row records the use. A card the set does not know fails the check.
 */
export async function buildTacVerifier(
  db: Queryable,
  kek: Kek,
  input: { cardNos: string[]; actor: string; reason: string },
): Promise<TacVerifier> {
  const { rows } = await db.query<{
    card_no: string;
    school_id: string;
    key_algorithm: Algorithm;
    key_versions: Record<string, number>;
  }>(
    `select c.card_no, h.school_id, c.key_algorithm, c.key_versions from cards c join cardholders h using (cardholder_id)
      where c.card_no = any($1::text[]) and c.key_versions is not null`,
    [input.cardNos],
  );
  const masters = new Map<string, SecretKey>();
  const keys = new Map<string, { algorithm: Algorithm; key: SecretKey }>();
  for (const row of rows) {
    const version = row.key_versions.tac!;
    const id = `${row.key_algorithm}/${version}`;
    if (!masters.has(id))
      masters.set(id, (await loadMasterKey(db, kek, 'tac', row.key_algorithm, version)).key);
    const school = diversify(row.key_algorithm, masters.get(id)!, schoolDiversifier(row.school_id));
    const card = diversify(row.key_algorithm, school, cardDiversifier(row.card_no));
    keys.set(row.card_no, { algorithm: row.key_algorithm, key: tacKey(row.key_algorithm, card) });
  }
  await audit(db, {
    action: 'use',
    actor: input.actor,
    purpose: 'tac',
    detail: { reason: input.reason, cards: rows.length },
  });
  return (fields, tac) => {
    const entry = keys.get(fields.cardNo);
    if (!entry || !/^[0-9A-Fa-f]{8}$/.test(tac)) return false;
    const expected = mac(
      entry.algorithm,
      entry.key,
      purchaseTacData({
        amountFen: fields.amountFen,
        terminalId: fields.terminalId,
        terminalSeq: fields.terminalSeq,
        at: new Date(fields.at),
      }),
    );
    return timingSafeEqual(expected, Buffer.from(tac, 'hex'));
  };
}
