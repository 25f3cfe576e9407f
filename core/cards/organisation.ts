import { ensureSchoolUnit } from '../ledger/registry.ts';
import { ensureMasterKeys } from '../keys/centre.ts';
import type { Kek } from '../keys/kek.ts';
import { OfficeRefusal } from '../keys/refusal.ts';
import type { Algorithm } from '../keys/cipher.ts';
import { batchCancelStep } from './lifecycle.ts';
import type { Client, OfficeContext } from './office-command.ts';
import { payOutCardholders } from './payout.ts';

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

export async function requireSchool(client: Client, schoolId: string): Promise<void> {
  const { rows } = await client.query(`select 1 from schools where school_id = $1`, [schoolId]);
  if (rows.length === 0) throw new OfficeRefusal('school_not_found', `no school ${schoolId}`);
}

/**
 * The bureau opens a school: the school, its accounting unit and accounts, the bureau's master keys (made
 * on first use), and its first administrator as a staff cardholder.
 */
export async function openSchoolStep(
  ctx: OfficeContext,
  kek: Kek,
  input: {
    schoolId: string;
    name: string;
    district: string;
    kind: string;
    algorithm: Algorithm;
    administrator: { staffNo: string; name: string; gender: 'F' | 'M' | 'U' };
  },
) {
  const inserted = await ctx.client.query(
    `insert into schools (school_id, name, district, kind) values ($1, $2, $3, $4) on conflict do nothing`,
    [input.schoolId, input.name, input.district, input.kind],
  );
  if (inserted.rowCount === 0)
    throw new OfficeRefusal('school_already_exists', `school ${input.schoolId} exists`);
  await ensureSchoolUnit(ctx.client, input.schoolId);
  const madeKeys = await ensureMasterKeys(ctx.client, kek, input.algorithm, ctx.operatorId);
  const { rows } = await ctx.client.query<{ cardholder_id: bigint }>(
    `insert into cardholders (school_id, kind, person_no, name, gender, identity_code) values ($1, 'staff', $2, $3, $4, 'staff')
     returning cardholder_id`,
    [input.schoolId, input.administrator.staffNo, input.administrator.name, input.administrator.gender],
  );
  await ctx.audit({
    action: 'open_school',
    schoolId: input.schoolId,
    cardholderId: rows[0]!.cardholder_id,
    detail: { algorithm: input.algorithm, masterKeysMade: madeKeys.map((k) => k.purpose) },
  });
  return {
    schoolId: input.schoolId,
    unitId: input.schoolId,
    administratorCardholderId: rows[0]!.cardholder_id,
  };
}

export async function createCampusStep(
  ctx: OfficeContext,
  input: { campusId: string; schoolId: string; name: string },
) {
  await requireSchool(ctx.client, input.schoolId);
  try {
    await ctx.client.query(`insert into campuses (campus_id, school_id, name) values ($1, $2, $3)`, [
      input.campusId,
      input.schoolId,
      input.name,
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) throw new OfficeRefusal('invalid_input', `campus ${input.campusId} exists`);
    throw error;
  }
  await ctx.audit({ action: 'create_campus', schoolId: input.schoolId, detail: input });
  return input;
}

/** A department under another of the same school (any depth), optionally on a campus. */
export async function createDepartmentStep(
  ctx: OfficeContext,
  input: {
    departmentId: string;
    schoolId: string;
    name: string;
    parentDepartmentId?: string;
    campusId?: string;
  },
) {
  await requireSchool(ctx.client, input.schoolId);
  if (input.parentDepartmentId) {
    const { rows } = await ctx.client.query<{ school_id: string }>(
      `select school_id from cardholder_departments where department_id = $1`,
      [input.parentDepartmentId],
    );
    if (rows[0]?.school_id !== input.schoolId)
      throw new OfficeRefusal(
        'department_not_found',
        `no department ${input.parentDepartmentId} in ${input.schoolId}`,
      );
  }
  if (input.campusId) {
    const { rows } = await ctx.client.query<{ school_id: string }>(
      `select school_id from campuses where campus_id = $1`,
      [input.campusId],
    );
    if (rows[0]?.school_id !== input.schoolId)
      throw new OfficeRefusal('campus_not_found', `no campus ${input.campusId} in ${input.schoolId}`);
  }
  try {
    await ctx.client.query(
      `insert into cardholder_departments (department_id, school_id, campus_id, parent_department_id, name) values ($1, $2, $3, $4, $5)`,
      [
        input.departmentId,
        input.schoolId,
        input.campusId ?? null,
        input.parentDepartmentId ?? null,
        input.name,
      ],
    );
  } catch (error) {
    if (isUniqueViolation(error))
      throw new OfficeRefusal('invalid_input', `department ${input.departmentId} exists`);
    throw error;
  }
  await ctx.audit({ action: 'create_department', schoolId: input.schoolId, detail: input });
  return input;
}

export interface ParameterGroup {
  defaultCategoryId?: number;
  validityYears?: number;
  depositFen?: number;
}

export async function upsertIdentityStep(
  ctx: OfficeContext,
  input: {
    identityCode: string;
    kind: 'student' | 'staff' | 'temporary';
    name: string;
    parameterGroup: ParameterGroup;
  },
) {
  const categoryId = input.parameterGroup.defaultCategoryId;
  if (categoryId !== undefined) {
    const { rows } = await ctx.client.query(`select 1 from card_categories where category_id = $1`, [
      categoryId,
    ]);
    if (rows.length === 0) throw new OfficeRefusal('category_not_found', `no card category ${categoryId}`);
  }
  await ctx.client.query(
    `insert into identities (identity_code, kind, name, parameter_group) values ($1, $2, $3, $4)
     on conflict (identity_code) do update set kind = excluded.kind, name = excluded.name, parameter_group = excluded.parameter_group`,
    [input.identityCode, input.kind, input.name, JSON.stringify(input.parameterGroup)],
  );
  await ctx.audit({ action: 'upsert_identity', detail: input });
  return input;
}

/** 卡类别: up to 120 (the ids are 1..120), each with a subsidy amount, limits and barred terminals. */
export async function upsertCategoryStep(
  ctx: OfficeContext,
  input: {
    categoryId: number;
    name: string;
    subsidyAmountFen?: number;
    perTxLimitFen?: number;
    dailyLimitFen?: number;
    barredTerminalIds?: string[];
  },
) {
  const barred = [...new Set(input.barredTerminalIds ?? [])];
  if (barred.length > 0) {
    const { rows } = await ctx.client.query<{ terminal_id: string }>(
      `select terminal_id from terminals where terminal_id = any($1::text[])`,
      [barred],
    );
    const known = new Set(rows.map((r) => r.terminal_id));
    const unknown = barred.filter((t) => !known.has(t));
    if (unknown.length > 0)
      throw new OfficeRefusal('invalid_input', `unknown terminals: ${unknown.join(', ')}`);
  }
  await ctx.client.query(
    `insert into card_categories (category_id, name, subsidy_amount_fen, per_tx_limit_fen, daily_limit_fen) values ($1, $2, $3, $4, $5)
     on conflict (category_id) do update set name = excluded.name, subsidy_amount_fen = excluded.subsidy_amount_fen,
       per_tx_limit_fen = excluded.per_tx_limit_fen, daily_limit_fen = excluded.daily_limit_fen`,
    [
      input.categoryId,
      input.name,
      input.subsidyAmountFen ?? null,
      input.perTxLimitFen ?? null,
      input.dailyLimitFen ?? null,
    ],
  );
  await ctx.client.query(`delete from category_terminal_bars where category_id = $1`, [input.categoryId]);
  await ctx.client.query(
    `insert into category_terminal_bars (category_id, terminal_id) select $1, unnest($2::text[])`,
    [input.categoryId, barred],
  );
  await ctx.audit({ action: 'upsert_category', detail: input });
  return { ...input, barredTerminalIds: barred };
}

export async function createBatchStep(
  ctx: OfficeContext,
  input: {
    schoolId: string;
    batchCode: string;
    name: string;
    kind: 'graduation' | 'group';
    graduatesOn?: string;
  },
) {
  await requireSchool(ctx.client, input.schoolId);
  const inserted = await ctx.client.query(
    `insert into cardholder_batches (school_id, batch_code, name, kind, graduates_on) values ($1, $2, $3, $4, $5) on conflict do nothing`,
    [input.schoolId, input.batchCode, input.name, input.kind, input.graduatesOn ?? null],
  );
  if (inserted.rowCount === 0)
    throw new OfficeRefusal('invalid_input', `batch ${input.batchCode} exists in ${input.schoolId}`);
  await ctx.audit({ action: 'create_batch', schoolId: input.schoolId, detail: input });
  return input;
}

/** What graduating a batch would do: each live card, and the money each holder would be paid out. */
export async function previewGraduation(client: Pick<Client, 'query'>, schoolId: string, batchCode: string) {
  const { rows: batch } = await client.query(
    `select 1 from cardholder_batches where school_id = $1 and batch_code = $2`,
    [schoolId, batchCode],
  );
  if (batch.length === 0) throw new OfficeRefusal('batch_not_found', `no batch ${batchCode} in ${schoolId}`);
  const { rows } = await client.query<{
    cardholder_id: bigint;
    person_no: string;
    name: string;
    card_no: string | null;
    main_fen: bigint;
    subsidy_fen: bigint;
    deposit_fen: bigint;
  }>(
    `select h.cardholder_id, h.person_no, h.name,
            (select c.card_no from cards c where c.cardholder_id = h.cardholder_id and c.status <> 'cancelled' order by c.card_no limit 1) as card_no,
            coalesce((select balance_fen from accounts a where a.cardholder_id = h.cardholder_id and a.wallet_kind = 'main'), 0) as main_fen,
            coalesce((select balance_fen from accounts a where a.cardholder_id = h.cardholder_id and a.wallet_kind = 'subsidy'), 0) as subsidy_fen,
            coalesce((select balance_fen from accounts a where a.cardholder_id = h.cardholder_id and a.wallet_kind = 'deposit'), 0) as deposit_fen
       from cardholders h where h.school_id = $1 and h.batch_code = $2 and h.status = 'active' order by h.person_no`,
    [schoolId, batchCode],
  );
  const people = rows.map((r) => ({
    cardholderId: r.cardholder_id,
    personNo: r.person_no,
    name: r.name,
    cardNo: r.card_no,
    mainFen: r.main_fen,
    subsidyFen: r.subsidy_fen,
    depositFen: r.deposit_fen,
  }));
  return {
    schoolId,
    batchCode,
    cardholderCount: people.length,
    cardCount: people.filter((p) => p.cardNo).length,
    cashOutFen: people.reduce((sum, p) => sum + p.mainFen + p.depositFen, 0n),
    subsidyReclaimedFen: people.reduce((sum, p) => sum + p.subsidyFen, 0n),
    people,
  };
}

/** 毕业: every live card of the batch cancelled and every holder paid out, in one transaction. */
export async function graduateBatchStep(
  ctx: OfficeContext,
  input: { schoolId: string; batchCode: string; at: Date },
) {
  const preview = await previewGraduation(ctx.client, input.schoolId, input.batchCode);
  const { rows: cards } = await ctx.client.query<{ card_no: string }>(
    `select c.card_no from cards c join cardholders h using (cardholder_id)
      where h.school_id = $1 and h.batch_code = $2 and c.status <> 'cancelled'`,
    [input.schoolId, input.batchCode],
  );
  const result = await batchCancelStep(ctx, {
    cardNos: cards.map((c) => c.card_no),
    reason: `graduation of batch ${input.batchCode}`,
    closeAccount: false,
    at: input.at,
  });
  // Everyone in the batch is paid out, with or without a live card.
  const payouts = await payOutCardholders(ctx.client, {
    cardholderIds: preview.people.map((p) => p.cardholderId),
    requestKey: ctx.requestKey,
    operatorId: ctx.operatorId,
    at: input.at,
  });
  await ctx.client.query(
    `update cardholders set status = 'left', updated_at = now() where school_id = $1 and batch_code = $2 and status = 'active'`,
    [input.schoolId, input.batchCode],
  );
  await ctx.client.query(
    `update cardholder_batches set graduated_at = now() where school_id = $1 and batch_code = $2`,
    [input.schoolId, input.batchCode],
  );
  await ctx.audit({
    action: 'graduate_batch',
    schoolId: input.schoolId,
    detail: { batchCode: input.batchCode, cards: result.cancelledCount },
  });
  return { ...preview, cancelledCount: result.cancelledCount, payouts, graduated: true };
}
