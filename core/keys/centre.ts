import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { cardDiversifier, checkValue, diversify, schoolDiversifier, type Algorithm } from './cipher.ts';
import { unwrapKey, wrapKey, type Kek } from './kek.ts';
import { OfficeRefusal } from './refusal.ts';
import { SecretKey } from './secret.ts';

export const keyPurposes = ['purchase', 'load', 'tac', 'pin_unlock', 'external_auth'] as const;
export type KeyPurpose = (typeof keyPurposes)[number];

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface MasterKeyInfo {
  purpose: KeyPurpose;
  algorithm: Algorithm;
  version: number;
  status: 'active' | 'retired';
  checkValue: string;
}

const aadOf = (purpose: string, algorithm: string, version: number) =>
  `master/${purpose}/${algorithm}/v${version}`;

export async function audit(
  db: Queryable,
  entry: {
    action: 'generate' | 'rotate' | 'export' | 'use' | 'psam_issue';
    actor: string;
    purpose?: string;
    algorithm?: string;
    version?: number;
    detail?: Record<string, unknown>;
  },
): Promise<void> {
  await db.query(
    `insert into key_audit (action, purpose, algorithm, version, actor, detail) values ($1, $2, $3, $4, $5, $6)`,
    [
      entry.action,
      entry.purpose ?? null,
      entry.algorithm ?? null,
      entry.version ?? null,
      entry.actor,
      JSON.stringify(entry.detail ?? {}),
    ],
  );
}

/** A new random master key, stored wrapped, as the next version; the previous active one is retired. */
async function insertMaster(
  db: Queryable,
  kek: Kek,
  purpose: KeyPurpose,
  algorithm: Algorithm,
  actor: string,
): Promise<MasterKeyInfo> {
  const { rows } = await db.query<{ version: number | null }>(
    `select max(version)::int as version from key_masters where purpose = $1 and algorithm = $2`,
    [purpose, algorithm],
  );
  const version = (rows[0]?.version ?? 0) + 1;
  if (version > 255)
    throw new OfficeRefusal('invalid_input', `${purpose}/${algorithm} has used all 255 key versions`);
  const key = new SecretKey(randomBytes(16));
  const kcv = checkValue(algorithm, key);
  await db.query(
    `update key_masters set status = 'retired', retired_at = now() where purpose = $1 and algorithm = $2 and status = 'active'`,
    [purpose, algorithm],
  );
  await db.query(
    `insert into key_masters (purpose, algorithm, version, wrapped, kek_id, check_value, created_by) values ($1, $2, $3, $4, $5, $6, $7)`,
    [
      purpose,
      algorithm,
      version,
      wrapKey(kek, key, aadOf(purpose, algorithm, version)),
      kek.kekId,
      kcv,
      actor,
    ],
  );
  return { purpose, algorithm, version, status: 'active', checkValue: kcv };
}

/** Generates the first version of a master key; refuses when one exists (rotate instead). */
export async function generateMasterKey(
  db: Queryable,
  kek: Kek,
  input: { purpose: KeyPurpose; algorithm: Algorithm; actor: string },
): Promise<MasterKeyInfo> {
  const { rows } = await db.query(`select 1 from key_masters where purpose = $1 and algorithm = $2`, [
    input.purpose,
    input.algorithm,
  ]);
  if (rows.length > 0)
    throw new OfficeRefusal(
      'key_already_exists',
      `a ${input.algorithm} master key for ${input.purpose} exists already; rotate it to make a new version`,
    );
  const info = await insertMaster(db, kek, input.purpose, input.algorithm, input.actor);
  await audit(db, { action: 'generate', ...input, version: info.version });
  return info;
}

export async function rotateMasterKey(
  db: Queryable,
  kek: Kek,
  input: { purpose: KeyPurpose; algorithm: Algorithm; actor: string },
): Promise<MasterKeyInfo> {
  await db.query(`select pg_advisory_xact_lock(hashtext('key_masters'))`);
  const info = await insertMaster(db, kek, input.purpose, input.algorithm, input.actor);
  await audit(db, { action: 'rotate', ...input, version: info.version });
  return info;
}

/** Makes every purpose's master key for an algorithm that is still missing (the bureau's first start). */
export async function ensureMasterKeys(
  db: Queryable,
  kek: Kek,
  algorithm: Algorithm,
  actor: string,
): Promise<MasterKeyInfo[]> {
  await db.query(`select pg_advisory_xact_lock(hashtext('key_masters'))`);
  const made: MasterKeyInfo[] = [];
  for (const purpose of keyPurposes) {
    const { rows } = await db.query(`select 1 from key_masters where purpose = $1 and algorithm = $2`, [
      purpose,
      algorithm,
    ]);
    if (rows.length === 0) {
      const info = await insertMaster(db, kek, purpose, algorithm, actor);
      await audit(db, { action: 'generate', purpose, algorithm, actor, version: info.version });
      made.push(info);
    }
  }
  return made;
}

export async function listMasterKeys(db: Queryable): Promise<MasterKeyInfo[]> {
  const { rows } = await db.query<{
    purpose: KeyPurpose;
    algorithm: Algorithm;
    version: number;
    status: 'active' | 'retired';
    check_value: string;
  }>(
    `select purpose, algorithm, version, status, check_value from key_masters order by purpose, algorithm, version`,
  );
  return rows.map((r) => ({ ...r, checkValue: r.check_value, check_value: undefined }) as MasterKeyInfo);
}

/** The master key of a purpose: a given version, or the active one. */
export async function loadMasterKey(
  db: Queryable,
  kek: Kek,
  purpose: KeyPurpose,
  algorithm: Algorithm,
  version?: number,
): Promise<{ key: SecretKey; version: number }> {
  const { rows } = await db.query<{ version: number; wrapped: Buffer; kek_id: string }>(
    version === undefined
      ? `select version, wrapped, kek_id from key_masters where purpose = $1 and algorithm = $2 and status = 'active'`
      : `select version, wrapped, kek_id from key_masters where purpose = $1 and algorithm = $2 and version = $3`,
    version === undefined ? [purpose, algorithm] : [purpose, algorithm, version],
  );
  const row = rows[0];
  if (!row)
    throw new OfficeRefusal(
      'key_not_found',
      `no ${algorithm} master key for ${purpose}${version === undefined ? ' is active' : ` at version ${version}`}`,
    );
  return {
    key: unwrapKey(kek, row.wrapped, aadOf(purpose, algorithm, row.version), row.kek_id),
    version: row.version,
  };
}

export const schoolKeyOf = (algorithm: Algorithm, master: SecretKey, schoolId: string) =>
  diversify(algorithm, master, schoolDiversifier(schoolId));

export const cardKeyOf = (algorithm: Algorithm, schoolKey: SecretKey, cardNo: string) =>
  diversify(algorithm, schoolKey, cardDiversifier(cardNo));

export interface CardKeySet {
  algorithm: Algorithm;
  versions: Record<KeyPurpose, number>;
  keys: Record<KeyPurpose, SecretKey>;
}

/** The five keys of one card, diversified master → school → card, with one audit row saying why. */
export async function cardKeySet(
  db: Queryable,
  kek: Kek,
  input: {
    schoolId: string;
    cardNo: string;
    algorithm: Algorithm;
    actor: string;
    reason: string;
    versions?: Partial<Record<KeyPurpose, number>>;
  },
): Promise<CardKeySet> {
  const versions = {} as Record<KeyPurpose, number>;
  const keys = {} as Record<KeyPurpose, SecretKey>;
  for (const purpose of keyPurposes) {
    const master = await loadMasterKey(db, kek, purpose, input.algorithm, input.versions?.[purpose]);
    versions[purpose] = master.version;
    keys[purpose] = cardKeyOf(
      input.algorithm,
      schoolKeyOf(input.algorithm, master.key, input.schoolId),
      input.cardNo,
    );
  }
  await audit(db, {
    action: 'use',
    actor: input.actor,
    algorithm: input.algorithm,
    detail: { reason: input.reason, schoolId: input.schoolId, cardNo: input.cardNo, versions },
  });
  return { algorithm: input.algorithm, versions, keys };
}

/** The key a blank card leaves the factory with: the external-auth key diversified by its chip serial. */
export async function transportKey(
  db: Queryable,
  kek: Kek,
  input: { chipSerial: string; algorithm: Algorithm; actor: string; reason: string },
): Promise<SecretKey> {
  const master = await loadMasterKey(db, kek, 'external_auth', input.algorithm);
  await audit(db, {
    action: 'use',
    actor: input.actor,
    purpose: 'external_auth',
    algorithm: input.algorithm,
    version: master.version,
    detail: { reason: input.reason, chipSerial: input.chipSerial },
  });
  return diversify(input.algorithm, master.key, cardDiversifier(input.chipSerial));
}
