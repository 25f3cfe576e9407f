import type { Pool } from '../db/pool.ts';
import { cardKeySet, keyPurposes, transportKey, type CardKeySet } from '../keys/centre.ts';
import { cardDiversifier, diversify, type Algorithm } from '../keys/cipher.ts';
import type { Kek } from '../keys/kek.ts';
import { OfficeRefusal } from '../keys/refusal.ts';
import { loadMasterKey, schoolKeyOf } from '../keys/centre.ts';
import { runCommand } from '../ledger/command.ts';
import { topUpCommand } from '../ledger/operations/top-up.ts';
import { keyIndex } from '../../drivers/cpu-card/apdu.ts';
import { OneCardSession } from '../../drivers/cpu-card/session.ts';
import type { CardChannel } from '../../drivers/pcsc/reader.ts';
import { insertCard, lockCardRow, nextCardNo, resolveCardSpec, type CardSpec } from './lifecycle.ts';
import { runOfficeCommand, type Client, type OfficeContext } from './office-command.ts';

interface IssuanceRow {
  issuance_id: bigint;
  card_no: string;
  chip_serial: string | null;
  state: 'reserved' | 'writing' | 'finished' | 'rolled_back';
  school_id: string;
  spec: CardSpec & {
    algorithm: Algorithm;
    replacesCardNo?: string;
    reissueCount?: number;
    /** A card issued without a chip (补卡 pending collection) whose chip this issuance writes. */
    collectsCardNo?: string;
  };
}

/**
 * 发卡 through a reader. The card number is reserved and the issuance recorded ('writing', with the
 * chip serial) before the chip is touched; the chip gets its keys, its basic file, its own external-auth
 * key and FINISH; only then does the card row exist. A card pulled out half way leaves an issuance in
 * 'writing' and no card row: presenting the same chip with the same request resumes (the writes are
 * overwrites), rollBackIssuance gives the number up. The same request after success replays its answer.
 */
export async function issueOnReader(
  pool: Pool,
  kek: Kek,
  channel: CardChannel,
  input: {
    requestId: string;
    operatorId: string;
    spec: CardSpec;
    algorithm?: Algorithm;
    replacesCardNo?: string;
    /** Write the chip of this card, issued without one by a replacement (补卡), as its holder collects it. */
    collectsCardNo?: string;
  },
) {
  const requestKey = `reader-issue:${input.requestId}`;
  const algorithm = input.algorithm ?? 'sm4';
  const session = await OneCardSession.open(channel);
  const chip = await session.chipInfo();
  const issuance = await reserve(pool, requestKey, chip.chipSerial, {
    ...input.spec,
    algorithm,
    replacesCardNo: input.replacesCardNo,
    collectsCardNo: input.collectsCardNo,
  });
  if (issuance.state === 'finished') return replay(pool, requestKey, input);

  const keys = await cardKeySet(pool, kek, {
    schoolId: issuance.school_id,
    cardNo: issuance.card_no,
    algorithm,
    actor: input.operatorId,
    reason: `issue ${requestKey}`,
  });
  const holder = await holderData(pool, issuance.spec.cardholderId);
  if (chip.lifecycle === 'personalised') {
    const onCard = await session.readBasic();
    if (onCard.cardNo !== issuance.card_no)
      throw new OfficeRefusal(
        'card_is_not_blank',
        `chip ${chip.chipSerial} already carries card ${onCard.cardNo}`,
      );
  } else {
    const authKey = await authenticateForWriting(
      pool,
      kek,
      session,
      chip.chipSerial,
      algorithm,
      input.operatorId,
    );
    for (const purpose of keyPurposes.filter((p) => p !== 'external_auth'))
      await session.writeKey(
        algorithm,
        authKey,
        keyIndex[purpose],
        keys.versions[purpose],
        keys.keys[purpose],
      );
    await session.writeBasic(algorithm, authKey, {
      cardNo: issuance.card_no,
      schoolId: issuance.school_id,
      personNo: holder.person_no,
      name: holder.name,
      categoryId: issuance.spec.categoryId ?? holder.default_category ?? 1,
      expiresOn: issuance.spec.expiresOn!,
      reissueCount: issuance.spec.reissueCount ?? 0,
      cardKind: issuance.spec.cardKind ?? 'user',
      cardFlag: issuance.spec.replacesCardNo ? 'replacement' : 'normal',
      validityMode: issuance.spec.validityMode ?? 'fixed',
    });
    // The card's own external-auth key goes last: until it is written the transport key still opens it.
    await session.writeKey(
      algorithm,
      authKey,
      keyIndex.external_auth,
      keys.versions.external_auth,
      keys.keys.external_auth,
    );
    await session.finish(algorithm, authKey);
  }
  return complete(pool, requestKey, issuance, keys, input);
}

async function reserve(
  pool: Pool,
  requestKey: string,
  chipSerial: string,
  spec: CardSpec & { algorithm: Algorithm; replacesCardNo?: string; collectsCardNo?: string },
) {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`select pg_advisory_xact_lock(hashtext($1))`, [requestKey]);
    const { rows } = await client.query<IssuanceRow>(
      `select issuance_id, card_no, chip_serial, state, school_id, spec from card_issuances where request_key = $1 for update`,
      [requestKey],
    );
    let row = rows[0];
    if (row?.state === 'rolled_back')
      throw new OfficeRefusal(
        'issuance_is_finished',
        `issuance ${requestKey} was rolled back; start a new one`,
      );
    if (row && row.chip_serial !== chipSerial && row.state !== 'finished')
      throw new OfficeRefusal(
        'card_mismatch',
        `issuance ${requestKey} is writing chip ${row.chip_serial}; present that card again or roll the issuance back`,
      );
    if (!row) {
      const taken = await client.query(
        `select card_no from cards where chip_serial = $1 and status <> 'cancelled'`,
        [chipSerial],
      );
      if (taken.rows[0])
        throw new OfficeRefusal('card_is_not_blank', `chip ${chipSerial} is card ${taken.rows[0].card_no}`);
      if (spec.collectsCardNo) {
        row = await reserveCollection(client, requestKey, chipSerial, spec);
        await client.query('commit');
        return { ...row, spec: { ...row.spec, cardholderId: BigInt(row.spec.cardholderId) } };
      }
      const resolved = await resolveCardSpec(client, spec, new Date());
      let reissueCount = 0;
      if (spec.replacesCardNo) {
        const { rows: old } = await client.query<{
          cardholder_id: bigint;
          status: string;
          reissue_count: number;
        }>(`select cardholder_id, status, reissue_count from cards where card_no = $1`, [
          spec.replacesCardNo,
        ]);
        if (!old[0] || old[0].cardholder_id !== BigInt(spec.cardholderId))
          throw new OfficeRefusal(
            'card_not_found',
            `cardholder ${spec.cardholderId} has no card ${spec.replacesCardNo}`,
          );
        if (old[0].status === 'cancelled')
          throw new OfficeRefusal('card_is_cancelled', `card ${spec.replacesCardNo} is already cancelled`);
        reissueCount = old[0].reissue_count + 1;
      }
      const live = await client.query(
        `select 1 from cards where cardholder_id = $1 and card_kind = 'user' and status <> 'cancelled' and card_no is distinct from $2`,
        [spec.cardholderId.toString(), spec.replacesCardNo ?? null],
      );
      if ((spec.cardKind ?? 'user') === 'user' && live.rows.length > 0)
        throw new OfficeRefusal(
          'cardholder_has_a_card',
          `cardholder ${spec.cardholderId} already has a card`,
        );
      const cardNo = await nextCardNo(client);
      const stored = {
        ...spec,
        cardholderId: String(spec.cardholderId),
        categoryId: resolved.categoryId,
        expiresOn: resolved.expiresOn,
        validityMode: resolved.validityMode,
        reissueCount,
      };
      const inserted = await client.query<IssuanceRow>(
        `insert into card_issuances (request_key, school_id, cardholder_id, card_no, chip_serial, state, spec)
         values ($1, $2, $3, $4, $5, 'writing', $6) returning issuance_id, card_no, chip_serial, state, school_id, spec`,
        [
          requestKey,
          resolved.schoolId,
          spec.cardholderId.toString(),
          cardNo,
          chipSerial,
          JSON.stringify(stored),
        ],
      );
      row = inserted.rows[0]!;
    }
    await client.query('commit');
    return { ...row, spec: { ...row.spec, cardholderId: BigInt(row.spec.cardholderId) } };
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

/** The transport key opens a blank chip; a half-written one may already have its card-level key. */
async function authenticateForWriting(
  pool: Pool,
  kek: Kek,
  session: OneCardSession,
  chipSerial: string,
  algorithm: Algorithm,
  actor: string,
) {
  const transport = await transportKey(pool, kek, { chipSerial, algorithm, actor, reason: 'personalise' });
  if (await session.authenticate(algorithm, transport)) return transport;
  const { rows } = await pool.query<{ card_no: string; school_id: string }>(
    `select card_no, school_id from card_issuances where chip_serial = $1 order by issuance_id desc`,
    [chipSerial],
  );
  for (const earlier of rows) {
    const master = await loadMasterKey(pool, kek, 'external_auth', algorithm);
    const key = diversify(
      algorithm,
      schoolKeyOf(algorithm, master.key, earlier.school_id),
      cardDiversifier(earlier.card_no),
    );
    if (await session.authenticate(algorithm, key)) return key;
  }
  throw new OfficeRefusal(
    'card_mac_is_wrong',
    `chip ${chipSerial} does not accept this bureau's keys (external authentication failed)`,
  );
}

async function holderData(pool: Pool, cardholderId: bigint) {
  const { rows } = await pool.query<{ person_no: string; name: string; default_category: number | null }>(
    `select h.person_no, h.name, (i.parameter_group->>'defaultCategoryId')::int as default_category
       from cardholders h left join identities i using (identity_code) where h.cardholder_id = $1`,
    [cardholderId.toString()],
  );
  if (!rows[0]) throw new OfficeRefusal('cardholder_not_found', `no cardholder ${cardholderId}`);
  return rows[0];
}

async function complete(
  pool: Pool,
  requestKey: string,
  issuance: IssuanceRow,
  keys: CardKeySet,
  input: { operatorId: string; spec: CardSpec },
) {
  const answer = await runOfficeCommand(pool, {
    requestKey,
    kind: 'reader_issue',
    operatorId: input.operatorId,
    content: { ...input.spec, cardholderId: String(input.spec.cardholderId) },
    run: async (ctx) => {
      if (issuance.spec.collectsCardNo) return collectCard(ctx, issuance, keys);
      const replaced = issuance.spec.replacesCardNo;
      if (replaced) {
        // 补卡 on a new chip: the old card is cancelled in the same transaction the new one appears in.
        const old = await lockCardRow(ctx.client, replaced);
        if (old.status === 'cancelled')
          throw new OfficeRefusal('card_is_cancelled', `card ${replaced} is already cancelled`);
        await ctx.client.query(
          `update cards set status = 'cancelled', status_reason = $2, status_changed_at = now() where card_no = $1`,
          [replaced, `replaced by ${issuance.card_no}`],
        );
        await ctx.audit({
          action: 'cancel',
          schoolId: issuance.school_id,
          cardholderId: old.cardholder_id,
          cardNo: replaced,
          detail: { from: old.status, to: 'cancelled', reason: `replaced by ${issuance.card_no}` },
        });
      }
      const card = await insertCard(ctx, {
        ...issuance.spec,
        cardNo: issuance.card_no,
        chipSerial: issuance.chip_serial!,
        keyAlgorithm: keys.algorithm,
        keyVersions: keys.versions,
        today: new Date(),
      });
      await ctx.client.query(`insert into card_purses (card_no, balance_fen, counter) values ($1, 0, 0)`, [
        issuance.card_no,
      ]);
      await ctx.client.query(
        `update card_issuances set state = 'finished', finished_at = now() where issuance_id = $1`,
        [issuance.issuance_id.toString()],
      );
      return { ...card, chipSerial: issuance.chip_serial, keyAlgorithm: keys.algorithm };
    },
  });
  return answer;
}

async function replay(pool: Pool, requestKey: string, input: { operatorId: string; spec: CardSpec }) {
  return runOfficeCommand(pool, {
    requestKey,
    kind: 'reader_issue',
    operatorId: input.operatorId,
    content: { ...input.spec, cardholderId: String(input.spec.cardholderId) },
    run: () => {
      throw new OfficeRefusal(
        'issuance_not_found',
        `issuance ${requestKey} is finished but has no stored answer`,
      );
    },
  });
}

/** Gives up a half-done issuance: its card number is never used; the chip can be issued again. */
export async function rollBackIssuance(pool: Pool, input: { requestId: string; operatorId: string }) {
  const requestKey = `reader-issue:${input.requestId}`;
  const { rows } = await pool.query<{ state: string; card_no: string }>(
    `update card_issuances set state = 'rolled_back', finished_at = now() where request_key = $1 and state in ('reserved', 'writing')
     returning state, card_no`,
    [requestKey],
  );
  if (!rows[0]) {
    const { rows: existing } = await pool.query(`select state from card_issuances where request_key = $1`, [
      requestKey,
    ]);
    if (!existing[0]) throw new OfficeRefusal('issuance_not_found', `no issuance ${requestKey}`);
    throw new OfficeRefusal('issuance_is_finished', `issuance ${requestKey} is ${existing[0].state}`);
  }
  await pool.query(
    `insert into card_office_audit (operator_id, action, card_no, request_key, detail) values ($1, 'issuance_rolled_back', $2, $3, '{}')`,
    [input.operatorId, rows[0].card_no, requestKey],
  );
  return { requestKey, cardNo: rows[0].card_no, state: 'rolled_back' };
}

/**
 * 圈存 through a reader: cash in through the ledger (a top-up, idempotent on the request), then the
 * card's purse credited with MAC2 and its TAC checked, and the purse mirror updated. A retry after the
 * card was pulled out finds the load pending and credits the card only if its counter shows it was not.
 */
export async function loadOnReader(
  pool: Pool,
  kek: Kek,
  channel: CardChannel,
  input: { requestId: string; operatorId: string; amountFen: bigint; terminalId: string; at?: Date },
) {
  const requestKey = `card-load:${input.requestId}`;
  const session = await OneCardSession.open(channel);
  const basic = await session.readBasic();
  const { rows } = await pool.query<{
    school_id: string;
    key_algorithm: Algorithm | null;
    key_versions: Record<string, number> | null;
    status: string;
  }>(
    `select h.school_id, c.key_algorithm, c.key_versions, c.status from cards c join cardholders h using (cardholder_id) where c.card_no = $1`,
    [basic.cardNo],
  );
  const card = rows[0];
  if (!card || !card.key_algorithm || !card.key_versions)
    throw new OfficeRefusal(
      'card_not_found',
      `card ${basic.cardNo} on the reader was not issued by this platform`,
    );
  if (card.status !== 'active')
    throw new OfficeRefusal('card_is_not_active', `card ${basic.cardNo} is ${card.status}`);
  const keys = await cardKeySet(pool, kek, {
    schoolId: card.school_id,
    cardNo: basic.cardNo,
    algorithm: card.key_algorithm,
    versions: card.key_versions,
    actor: input.operatorId,
    reason: `load ${requestKey}`,
  });
  const balanceBefore = await session.balanceFen();
  const { rows: loads } = await pool.query<{
    state: string;
    balance_fen_before: bigint;
    amount_fen: bigint;
    card_no: string;
  }>(`select state, balance_fen_before, amount_fen, card_no from card_loads where request_key = $1`, [
    requestKey,
  ]);
  const earlier = loads[0];
  if (earlier && (earlier.card_no !== basic.cardNo || earlier.amount_fen !== input.amountFen))
    throw new OfficeRefusal(
      'exists_with_different_content',
      `request ${requestKey} loaded another card or amount`,
    );
  if (
    earlier?.state === 'credited' ||
    (earlier && balanceBefore === earlier.balance_fen_before + input.amountFen)
  ) {
    await markCredited(pool, requestKey, basic.cardNo, earlier.balance_fen_before + input.amountFen, null);
    return {
      cardNo: basic.cardNo,
      amountFen: input.amountFen,
      balanceFenAfter: earlier.balance_fen_before + input.amountFen,
      replayed: true,
    };
  }
  const at = input.at ?? new Date();
  // MAC1 first: a card that is not what the database says it is stops the load before money moves.
  const pending = await session.initializeLoad({
    algorithm: card.key_algorithm,
    loadKey: keys.keys.load,
    amountFen: input.amountFen,
    terminalId: input.terminalId,
  });
  const money = await runCommand(
    pool,
    topUpCommand({
      requestKey,
      cardNo: basic.cardNo,
      amountFen: input.amountFen,
      method: 'cash',
      operatorId: input.operatorId,
      at,
    }),
  );
  if (money.response.outcome !== 'ok')
    throw new OfficeRefusal(
      'card_is_not_active',
      `the ledger refused the load: ${String(money.response.message)}`,
    );
  await pool.query(
    `insert into card_loads (request_key, card_no, amount_fen, balance_fen_before, online_counter) values ($1, $2, $3, $4, $5)
     on conflict (request_key) do nothing`,
    [requestKey, basic.cardNo, input.amountFen.toString(), balanceBefore.toString(), pending.onlineCounter],
  );
  const loaded = await session.creditLoad(pending, { tacKey: keys.keys.tac, at });
  await markCredited(pool, requestKey, basic.cardNo, loaded.balanceFenAfter, loaded.tac);
  return {
    cardNo: basic.cardNo,
    amountFen: input.amountFen,
    balanceFenAfter: loaded.balanceFenAfter,
    tac: loaded.tac,
    replayed: false,
  };
}

async function markCredited(
  pool: Pool,
  requestKey: string,
  cardNo: string,
  balanceFen: bigint,
  tac: string | null,
) {
  await pool.query(
    `update card_loads set state = 'credited', tac = coalesce($2, tac), credited_at = now() where request_key = $1 and state = 'pending'`,
    [requestKey, tac],
  );
  await pool.query(
    `insert into card_purses (card_no, balance_fen, counter) values ($1, $2, 0)
     on conflict (card_no) do update set balance_fen = excluded.balance_fen, updated_at = now()`,
    [cardNo, balanceFen.toString()],
  );
}

/**
 * 补卡 collected: the card row exists already (the replacement issued it when the old card's balance moved),
 * without a chip. The issuance takes that card's number and what its chip must carry from the row itself.
 */
async function reserveCollection(
  client: Client,
  requestKey: string,
  chipSerial: string,
  spec: CardSpec & { algorithm: Algorithm; collectsCardNo?: string },
): Promise<IssuanceRow> {
  const { rows } = await client.query<{
    card_no: string;
    cardholder_id: bigint;
    school_id: string;
    status: string;
    chip_serial: string | null;
    category_id: number;
    expires_on: string;
    validity_mode: string;
    reissue_count: number;
    replaces_card_no: string | null;
    card_kind: string;
  }>(
    `select c.card_no, c.cardholder_id, h.school_id, c.status, c.chip_serial, c.category_id, c.expires_on::text,
            c.validity_mode, c.reissue_count, c.replaces_card_no, c.card_kind
       from cards c join cardholders h using (cardholder_id) where c.card_no = $1 for update of c`,
    [spec.collectsCardNo],
  );
  const card = rows[0];
  if (!card || card.cardholder_id !== BigInt(spec.cardholderId))
    throw new OfficeRefusal(
      'card_not_found',
      `cardholder ${spec.cardholderId} has no card ${spec.collectsCardNo}`,
    );
  if (card.status !== 'active')
    throw new OfficeRefusal('card_is_not_active', `card ${card.card_no} is ${card.status}`);
  if (card.chip_serial)
    throw new OfficeRefusal('issuance_is_finished', `card ${card.card_no} has its chip already`);
  const stored = {
    ...spec,
    cardholderId: String(spec.cardholderId),
    cardKind: card.card_kind,
    categoryId: card.category_id,
    expiresOn: card.expires_on,
    validityMode: card.validity_mode,
    reissueCount: card.reissue_count,
    replacesCardNo: card.replaces_card_no ?? undefined,
  };
  const inserted = await client.query<IssuanceRow>(
    `insert into card_issuances (request_key, school_id, cardholder_id, card_no, chip_serial, state, spec)
     values ($1, $2, $3, $4, $5, 'writing', $6) returning issuance_id, card_no, chip_serial, state, school_id, spec`,
    [
      requestKey,
      card.school_id,
      card.cardholder_id.toString(),
      card.card_no,
      chipSerial,
      JSON.stringify(stored),
    ],
  );
  return inserted.rows[0]!;
}

/** The collected card's row gets its chip and keys; its purse starts as the chip's does. */
async function collectCard(ctx: OfficeContext, issuance: IssuanceRow, keys: CardKeySet) {
  const { rowCount } = await ctx.client.query(
    `update cards set chip_serial = $2, key_algorithm = $3, key_versions = $4
      where card_no = $1 and chip_serial is null and status = 'active'`,
    [issuance.card_no, issuance.chip_serial, keys.algorithm, JSON.stringify(keys.versions)],
  );
  if (rowCount !== 1)
    throw new OfficeRefusal('issuance_is_finished', `card ${issuance.card_no} has its chip already`);
  await ctx.client.query(
    `insert into card_purses (card_no, balance_fen, counter) values ($1, 0, 0) on conflict (card_no) do nothing`,
    [issuance.card_no],
  );
  await ctx.client.query(
    `update card_issuances set state = 'finished', finished_at = now() where issuance_id = $1`,
    [issuance.issuance_id.toString()],
  );
  await ctx.audit({
    action: 'collect',
    schoolId: issuance.school_id,
    cardholderId: issuance.spec.cardholderId,
    cardNo: issuance.card_no,
    detail: { chipSerial: issuance.chip_serial },
  });
  return {
    cardNo: issuance.card_no,
    status: 'active',
    chipSerial: issuance.chip_serial,
    keyAlgorithm: keys.algorithm,
  };
}
