import { hashPin, pinMatches } from '../ledger/pin.ts';
import { ensureWallets } from '../ledger/registry.ts';
import { OfficeRefusal } from '../keys/refusal.ts';
import type { Client, OfficeContext } from './office-command.ts';
import { payOutCardholders } from './payout.ts';

export type CardKind = 'user' | 'operator' | 'cashier' | 'parameter';
export type ValidityMode = 'fixed' | 'years_from_issue' | 'until_graduation';

export interface CardRow {
  card_no: string;
  cardholder_id: bigint;
  school_id: string;
  status: 'active' | 'frozen' | 'blacklisted' | 'cancelled';
  card_kind: CardKind;
  reissue_count: number;
  category_id: number;
  expires_on: string;
  validity_mode: ValidityMode;
  pin_hash: string | null;
}

/** The card row, locked: every lifecycle step reads and changes one card at a time. */
export async function lockCardRow(client: Client, cardNo: string): Promise<CardRow> {
  const { rows } = await client.query<CardRow>(
    `select c.card_no, c.cardholder_id, h.school_id, c.status, c.card_kind, c.reissue_count, c.category_id,
            c.expires_on::text, c.validity_mode, c.pin_hash
       from cards c join cardholders h using (cardholder_id) where c.card_no = $1 for update of c`,
    [cardNo],
  );
  if (!rows[0]) throw new OfficeRefusal('card_not_found', `no card ${cardNo}`);
  return rows[0];
}

function refuseCancelled(card: CardRow): void {
  if (card.status === 'cancelled')
    throw new OfficeRefusal('card_is_cancelled', `card ${card.card_no} is cancelled (销户)`);
}

export async function nextCardNo(client: Client): Promise<string> {
  const { rows } = await client.query<{ card_no: string }>(
    `select '8' || lpad(upper(to_hex(nextval('card_no_seq'))), 15, '0') as card_no`,
  );
  return rows[0]!.card_no;
}

export interface CardSpec {
  cardholderId: bigint;
  cardKind?: CardKind;
  categoryId?: number;
  validityMode?: ValidityMode;
  /** For 'fixed'; otherwise computed from the identity's parameter group or the batch. */
  expiresOn?: string;
  purpose?: string;
  pin?: string;
}

/** What a card gets from its holder: the school, the identity's defaults, the batch's graduation date. */
export async function resolveCardSpec(
  client: Client,
  spec: CardSpec,
  today: Date,
): Promise<{ schoolId: string; categoryId: number; expiresOn: string; validityMode: ValidityMode }> {
  const { rows } = await client.query<{
    school_id: string;
    status: string;
    parameter_group: { defaultCategoryId?: number; validityYears?: number } | null;
    graduates_on: string | null;
  }>(
    `select h.school_id, h.status, i.parameter_group, b.graduates_on::text
       from cardholders h left join identities i using (identity_code)
       left join cardholder_batches b on b.school_id = h.school_id and b.batch_code = h.batch_code
      where h.cardholder_id = $1 for update of h`,
    [spec.cardholderId.toString()],
  );
  const holder = rows[0];
  if (!holder) throw new OfficeRefusal('cardholder_not_found', `no cardholder ${spec.cardholderId}`);
  if (holder.status !== 'active')
    throw new OfficeRefusal('cardholder_not_found', `cardholder ${spec.cardholderId} has left the school`);
  const categoryId = spec.categoryId ?? holder.parameter_group?.defaultCategoryId ?? 1;
  const category = await client.query(`select 1 from card_categories where category_id = $1`, [categoryId]);
  if (category.rows.length === 0)
    throw new OfficeRefusal('category_not_found', `no card category ${categoryId}`);
  const validityMode = spec.validityMode ?? (spec.expiresOn ? 'fixed' : 'years_from_issue');
  let expiresOn: string;
  if (validityMode === 'fixed') {
    if (!spec.expiresOn) throw new OfficeRefusal('invalid_input', 'validityMode fixed needs expiresOn');
    expiresOn = spec.expiresOn;
  } else if (validityMode === 'until_graduation') {
    if (!holder.graduates_on)
      throw new OfficeRefusal(
        'invalid_input',
        'validityMode until_graduation needs a batch with a graduation date',
      );
    expiresOn = holder.graduates_on;
  } else {
    const years = holder.parameter_group?.validityYears ?? 6;
    const end = new Date(Date.UTC(today.getUTCFullYear() + years, today.getUTCMonth(), today.getUTCDate()));
    expiresOn = end.toISOString().slice(0, 10);
  }
  if (expiresOn <= today.toISOString().slice(0, 10))
    throw new OfficeRefusal('invalid_input', `expiresOn ${expiresOn} is not in the future`);
  return { schoolId: holder.school_id, categoryId, expiresOn, validityMode };
}

/** Inserts the card row (the holder's wallets first); refuses a second live user card. */
export async function insertCard(
  ctx: OfficeContext,
  input: CardSpec & {
    cardNo: string;
    chipSerial?: string;
    keyAlgorithm?: string;
    keyVersions?: Record<string, number>;
    replacesCardNo?: string;
    reissueCount?: number;
    today: Date;
  },
): Promise<Record<string, unknown>> {
  const resolved = await resolveCardSpec(ctx.client, input, input.today);
  const kind = input.cardKind ?? 'user';
  if (kind === 'user') {
    const live = await ctx.client.query<{ card_no: string }>(
      `select card_no from cards where cardholder_id = $1 and card_kind = 'user' and status <> 'cancelled'`,
      [input.cardholderId.toString()],
    );
    if (live.rows[0])
      throw new OfficeRefusal(
        'cardholder_has_a_card',
        `cardholder ${input.cardholderId} already has card ${live.rows[0].card_no}; replace or cancel it first`,
      );
  }
  await ensureWallets(ctx.client, input.cardholderId);
  await ctx.client.query(
    `insert into cards (card_no, cardholder_id, category_id, expires_on, pin_hash, card_kind, purpose, card_flag,
                        validity_mode, reissue_count, chip_serial, key_algorithm, key_versions, replaces_card_no)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      input.cardNo,
      input.cardholderId.toString(),
      resolved.categoryId,
      resolved.expiresOn,
      input.pin ? await hashPin(input.pin) : null,
      kind,
      input.purpose ?? (kind === 'user' ? 'campus' : kind),
      input.replacesCardNo ? 'replacement' : 'normal',
      resolved.validityMode,
      input.reissueCount ?? 0,
      input.chipSerial ?? null,
      input.keyAlgorithm ?? null,
      input.keyVersions ? JSON.stringify(input.keyVersions) : null,
      input.replacesCardNo ?? null,
    ],
  );
  await ctx.audit({
    action: input.replacesCardNo ? 'replace' : kind === 'user' ? 'issue' : `issue_${kind}_card`,
    schoolId: resolved.schoolId,
    cardholderId: input.cardholderId,
    cardNo: input.cardNo,
    detail: {
      categoryId: resolved.categoryId,
      expiresOn: resolved.expiresOn,
      replaces: input.replacesCardNo ?? null,
    },
  });
  return {
    cardNo: input.cardNo,
    cardholderId: input.cardholderId,
    cardKind: kind,
    categoryId: resolved.categoryId,
    expiresOn: resolved.expiresOn,
    validityMode: resolved.validityMode,
    status: 'active',
  };
}

export async function issueCardStep(ctx: OfficeContext, spec: CardSpec, today: Date) {
  return insertCard(ctx, { ...spec, cardNo: await nextCardNo(ctx.client), today });
}

async function setStatus(
  ctx: OfficeContext,
  card: CardRow,
  status: CardRow['status'],
  action: string,
  reason: string,
) {
  await ctx.client.query(
    `update cards set status = $2, status_reason = $3, status_changed_at = now() where card_no = $1`,
    [card.card_no, status, reason],
  );
  await ctx.audit({
    action,
    schoolId: card.school_id,
    cardholderId: card.cardholder_id,
    cardNo: card.card_no,
    detail: { from: card.status, to: status, reason },
  });
  return { cardNo: card.card_no, status };
}

/** 挂失: the card is frozen at once; terminals get it through the blacklist (a later issue). */
export async function freezeStep(ctx: OfficeContext, cardNo: string, reason: string) {
  const card = await lockCardRow(ctx.client, cardNo);
  refuseCancelled(card);
  if (card.status === 'frozen') throw new OfficeRefusal('card_is_frozen', `card ${cardNo} is already frozen`);
  return setStatus(ctx, card, 'frozen', 'freeze', reason);
}

export async function unfreezeStep(ctx: OfficeContext, cardNo: string, reason: string) {
  const card = await lockCardRow(ctx.client, cardNo);
  refuseCancelled(card);
  if (card.status !== 'frozen') throw new OfficeRefusal('card_is_not_frozen', `card ${cardNo} is not frozen`);
  return setStatus(ctx, card, 'active', 'unfreeze', reason);
}

/**
 * 销户: the card is cancelled and, with closeAccount, the holder's wallets are paid out in the same
 * transaction (a holder leaving). Without it (a card swapped) the balance stays with the holder.
 */
export async function cancelStep(
  ctx: OfficeContext,
  input: { cardNo: string; reason: string; closeAccount: boolean; at: Date },
) {
  const card = await lockCardRow(ctx.client, input.cardNo);
  refuseCancelled(card);
  const answer: Record<string, unknown> = await setStatus(ctx, card, 'cancelled', 'cancel', input.reason);
  if (input.closeAccount && card.card_kind === 'user') {
    const [payout] = await payOutCardholders(ctx.client, {
      cardholderIds: [card.cardholder_id],
      requestKey: ctx.requestKey,
      operatorId: ctx.operatorId,
      at: input.at,
    });
    await ctx.client.query(
      `update cardholders set status = 'left', updated_at = now() where cardholder_id = $1`,
      [card.cardholder_id.toString()],
    );
    answer.payout = payout;
  }
  return answer;
}

/** 补卡/换卡 (card side): the old card is cancelled as replaced, a new one issued with reissue count + 1. */
export async function replaceStep(
  ctx: OfficeContext,
  input: { cardNo: string; reason: string; pin?: string; today: Date },
) {
  const old = await lockCardRow(ctx.client, input.cardNo);
  refuseCancelled(old);
  if (old.card_kind !== 'user')
    throw new OfficeRefusal(
      'invalid_input',
      `card ${input.cardNo} is a ${old.card_kind} card; issue a new one`,
    );
  await setStatus(ctx, old, 'cancelled', 'cancel', `replaced: ${input.reason}`);
  const issued = await insertCard(ctx, {
    cardNo: await nextCardNo(ctx.client),
    cardholderId: old.cardholder_id,
    categoryId: old.category_id,
    validityMode: old.validity_mode === 'years_from_issue' ? 'fixed' : old.validity_mode,
    expiresOn: old.expires_on,
    replacesCardNo: old.card_no,
    reissueCount: old.reissue_count + 1,
    pin: input.pin,
    today: input.today,
  });
  // The PIN carries over unless a new one is given; it is copied as its hash, never read back.
  if (!input.pin)
    await ctx.client.query(`update cards set pin_hash = $2 where card_no = $1`, [
      issued.cardNo,
      old.pin_hash,
    ]);
  return { ...issued, replacedCardNo: old.card_no, reissueCount: old.reissue_count + 1 };
}

export async function changePinStep(
  ctx: OfficeContext,
  input: { cardNo: string; oldPin: string; newPin: string },
) {
  const card = await lockCardRow(ctx.client, input.cardNo);
  refuseCancelled(card);
  if (!(await pinMatches(input.oldPin, card.pin_hash))) {
    // A wrong PIN is refused; the failed attempt is audited outside this (rolled back) transaction.
    throw new OfficeRefusal('pin_is_wrong', `the current PIN of card ${input.cardNo} is wrong`);
  }
  await ctx.client.query(`update cards set pin_hash = $2, pin_failures = 0 where card_no = $1`, [
    input.cardNo,
    await hashPin(input.newPin),
  ]);
  await ctx.audit({
    action: 'change_pin',
    schoolId: card.school_id,
    cardholderId: card.cardholder_id,
    cardNo: card.card_no,
  });
  return { cardNo: input.cardNo, pinChanged: true };
}

export async function resetPinStep(ctx: OfficeContext, input: { cardNo: string; newPin: string }) {
  const card = await lockCardRow(ctx.client, input.cardNo);
  refuseCancelled(card);
  await ctx.client.query(`update cards set pin_hash = $2, pin_failures = 0 where card_no = $1`, [
    input.cardNo,
    await hashPin(input.newPin),
  ]);
  await ctx.audit({
    action: 'reset_pin',
    schoolId: card.school_id,
    cardholderId: card.cardholder_id,
    cardNo: card.card_no,
  });
  return { cardNo: input.cardNo, pinReset: true };
}

export async function changeExpiryStep(
  ctx: OfficeContext,
  input: { cardNo: string; expiresOn: string; today: Date },
) {
  const card = await lockCardRow(ctx.client, input.cardNo);
  refuseCancelled(card);
  if (input.expiresOn <= input.today.toISOString().slice(0, 10))
    throw new OfficeRefusal('invalid_input', `expiresOn ${input.expiresOn} is not in the future`);
  await ctx.client.query(`update cards set expires_on = $2, validity_mode = 'fixed' where card_no = $1`, [
    input.cardNo,
    input.expiresOn,
  ]);
  await ctx.audit({
    action: 'change_expiry',
    schoolId: card.school_id,
    cardholderId: card.cardholder_id,
    cardNo: card.card_no,
    detail: { from: card.expires_on, to: input.expiresOn },
  });
  return { cardNo: input.cardNo, expiresOn: input.expiresOn };
}

/**
 * 成批注销: every card or none. All card rows are locked first (in card-number order), then every
 * holder's wallets are paid out in one posting batch, so two batches never wait on each other in a cycle.
 */
export async function batchCancelStep(
  ctx: OfficeContext,
  input: { cardNos: string[]; reason: string; closeAccount: boolean; at: Date },
) {
  const cards: CardRow[] = [];
  for (const cardNo of [...new Set(input.cardNos)].sort()) {
    const card = await lockCardRow(ctx.client, cardNo);
    refuseCancelled(card);
    cards.push(card);
  }
  for (const card of cards) await setStatus(ctx, card, 'cancelled', 'cancel', input.reason);
  const leaving = cards.filter((c) => c.card_kind === 'user').map((c) => c.cardholder_id);
  const payouts = input.closeAccount
    ? await payOutCardholders(ctx.client, {
        cardholderIds: leaving,
        requestKey: ctx.requestKey,
        operatorId: ctx.operatorId,
        at: input.at,
      })
    : [];
  if (input.closeAccount && leaving.length > 0)
    await ctx.client.query(
      `update cardholders set status = 'left', updated_at = now() where cardholder_id = any($1::bigint[])`,
      [leaving.map(String)],
    );
  const byHolder = new Map(payouts.map((p) => [p.cardholderId, p]));
  return {
    cancelledCount: cards.length,
    cards: cards.map((c) => ({
      cardNo: c.card_no,
      status: 'cancelled',
      payout: byHolder.get(c.cardholder_id) ?? null,
    })),
  };
}
