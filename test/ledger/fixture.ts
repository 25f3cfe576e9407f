// A school of this suite's own (unique ids, so suites sharing the database never see each other's rows),
// with a canteen, terminals, cards and funded wallets, set up through the ledger's own code paths.
import { randomBytes } from 'node:crypto';
import type { Pool } from '../../core/db/pool.ts';
import { Book, credit, debit } from '../../core/ledger/book.ts';
import { businessDate } from '../../core/ledger/calendar.ts';
import { ensureMerchantAccount, ensureSchoolUnit, issueCard } from '../../core/ledger/registry.ts';
import { findUnitAccount } from '../../core/ledger/store/lookups.ts';
import { lockAccounts, withLedgerTransaction } from '../../core/ledger/store/unit-of-work.ts';
import { writeLedger } from '../../core/ledger/store/write.ts';
import { subjects } from '../../core/ledger/subjects.ts';

export interface School {
  schoolId: string;
  canteenId: string;
  managedStallId: string;
  pos: string;
  stallPos: string;
  gate: string;
  disabledPos: string;
  barredPos: string;
}

export const uniqueId = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex').toUpperCase()}`;

export async function createSchool(pool: Pool): Promise<School> {
  const schoolId = uniqueId('T');
  const s: School = {
    schoolId,
    canteenId: `${schoolId}-CT`,
    managedStallId: `${schoolId}-ST`,
    pos: `${schoolId}-POS`,
    stallPos: `${schoolId}-SPOS`,
    gate: `${schoolId}-GATE`,
    disabledPos: `${schoolId}-DPOS`,
    barredPos: `${schoolId}-BPOS`,
  };
  await pool.query(
    `insert into schools (school_id, name, district, kind) values ($1, '测试学校', '测试区', 'middle')`,
    [schoolId],
  );
  await ensureSchoolUnit(pool, schoolId);
  await pool.query(
    `insert into merchants (merchant_id, school_id, name, kind) values ($1, $2, '食堂', 'canteen')`,
    [s.canteenId, schoolId],
  );
  await pool.query(
    `insert into merchants (merchant_id, school_id, name, kind, settlement_kind, parent_merchant_id) values ($1, $2, '面档', 'canteen', 'managed', $3)`,
    [s.managedStallId, schoolId, s.canteenId],
  );
  await ensureMerchantAccount(pool, s.canteenId);
  await pool.query(
    `insert into terminals (terminal_id, school_id, merchant_id, kind, status, fixed_amount_fen, portion_price_fen) values
       ($1, $5, $6, 'pos', 'active', 800, 350), ($2, $5, $7, 'pos', 'active', null, null),
       ($3, $5, null, 'gate', 'active', null, null), ($4, $5, $6, 'pos', 'disabled', null, null), ($8, $5, $6, 'pos', 'active', null, null)`,
    [s.pos, s.stallPos, s.gate, s.disabledPos, schoolId, s.canteenId, s.managedStallId, s.barredPos],
  );
  await pool.query(
    `insert into menu_items (merchant_id, item_code, name, price_fen) values ($1, 'RICE', '米饭', 100), ($1, 'PORK', '红烧肉', 1200)`,
    [s.canteenId],
  );
  return s;
}

export interface CategorySpec {
  perTxLimitFen?: number | null;
  dailyLimitFen?: number | null;
  dailyMaxFen?: number | null;
  walletOrder?: Array<'main' | 'subsidy'>;
  /** Terminals the category may not be used at. */
  barredAt?: string[];
}

/**
 * A card category (卡类别) of the suite's own, so a suite can set limits without changing what another
 * suite running at the same time sees. Ids 1–3 are the predefined ones; a suite takes a free one of
 * 4–120 (trying again when another suite took the same one at the same moment).
 */
export async function createCategory(pool: Pool, spec: CategorySpec = {}): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { rows } = await pool.query<{ category_id: number }>(
        `insert into card_categories (category_id, name, per_tx_limit_fen, daily_limit_fen, daily_max_fen, wallet_order)
         select g, '测试卡类 ' || g, $1, $2, $3, $4 from generate_series(4, 120) g
          where not exists (select 1 from card_categories k where k.category_id = g)
          order by random() limit 1
         returning category_id`,
        [
          spec.perTxLimitFen ?? null,
          spec.dailyLimitFen ?? null,
          spec.dailyMaxFen ?? null,
          spec.walletOrder ?? ['subsidy', 'main'],
        ],
      );
      const categoryId = rows[0]?.category_id;
      if (categoryId === undefined) throw new Error('all 120 card categories are taken');
      for (const terminalId of spec.barredAt ?? [])
        await pool.query(`insert into category_terminal_bars (category_id, terminal_id) values ($1, $2)`, [
          categoryId,
          terminalId,
        ]);
      return categoryId;
    } catch (error) {
      if ((error as { code?: string }).code !== '23505' || attempt >= 5) throw error;
    }
  }
}

export interface CardSpec {
  categoryId?: number;
  status?: 'active' | 'frozen' | 'blacklisted' | 'cancelled';
  expiresOn?: string;
  pin?: string;
  batchCode?: string;
}

/** Cardholders with one card each; returns the card numbers. */
export async function createCards(
  pool: Pool,
  school: School,
  count: number,
  spec: CardSpec = {},
): Promise<string[]> {
  const { rows } = await pool.query<{ cardholder_id: bigint }>(
    `insert into cardholders (school_id, kind, person_no, name, gender, batch_code)
     select $1, 'student', $2 || '-' || g, '学生' || g, 'U', $4 from generate_series(1, $3) g returning cardholder_id`,
    [school.schoolId, uniqueId('P'), count, spec.batchCode ?? null],
  );
  const cards: string[] = [];
  for (const row of rows) {
    const cardNo = randomBytes(6).toString('hex').toUpperCase();
    await issueCard(pool, {
      cardNo,
      cardholderId: row.cardholder_id,
      categoryId: spec.categoryId ?? 1,
      expiresOn: spec.expiresOn ?? '2099-12-31',
      pin: spec.pin,
    });
    if (spec.status && spec.status !== 'active')
      await pool.query(`update cards set status = $2 where card_no = $1`, [cardNo, spec.status]);
    cards.push(cardNo);
  }
  return cards;
}

/** Puts money in wallets with one balanced opening transaction from the school's cash. */
export async function fund(
  pool: Pool,
  school: School,
  cards: string[],
  amountFen: bigint,
  wallet: 'main' | 'subsidy' = 'main',
): Promise<void> {
  await withLedgerTransaction(pool, async (client) => {
    const cash = (await findUnitAccount(client, school.schoolId, subjects.cash))!;
    const { rows } = await client.query<{ account_id: bigint }>(
      `select a.account_id from cards c join accounts a on a.cardholder_id = c.cardholder_id and a.wallet_kind = $2 where c.card_no = any($1::text[])`,
      [cards, wallet],
    );
    const book = new Book(await lockAccounts(client, [cash, ...rows.map((r) => r.account_id)]));
    const lines = [
      debit(cash, amountFen * BigInt(rows.length)),
      ...rows.map((r) => credit(r.account_id, amountFen)),
    ];
    await writeLedger(client, {
      transactions: [
        {
          requestKey: uniqueId('opening'),
          kind: 'opening',
          amountFen: amountFen * BigInt(rows.length),
          businessDate: businessDate(new Date()),
          postings: book.post(lines),
          event: { topic: 'ledger.opening', aggregateKey: school.schoolId, payload: {} },
        },
      ],
      balances: book.changed(),
      requests: [],
    });
  });
}

export async function walletBalances(pool: Pool, cardNo: string): Promise<Record<string, bigint>> {
  const { rows } = await pool.query<{ wallet_kind: string; balance_fen: bigint }>(
    `select a.wallet_kind, a.balance_fen from cards c join accounts a on a.cardholder_id = c.cardholder_id where c.card_no = $1`,
    [cardNo],
  );
  return Object.fromEntries(rows.map((r) => [r.wallet_kind, r.balance_fen]));
}

/**
 * Rows of this school in the tables a money write touches (its cards, its terminals, request keys naming
 * it): a refused or malformed request must leave them unchanged. Scoped, because other suites write too.
 */
export async function ledgerRowCounts(pool: Pool, school: School): Promise<Record<string, number>> {
  const { rows } = await pool.query<Record<string, number>>(
    `with mine as (
       select t.transaction_id from ledger_transactions t
        where t.terminal_id like $1 || '%' or t.card_no in (select c.card_no from cards c join cardholders h using (cardholder_id) where h.school_id = $1)
     )
     select (select count(*)::int from mine) as transactions,
            (select count(*)::int from ledger_postings p join mine using (transaction_id)) as postings,
            (select count(*)::int from ledger_requests where request_key like '%' || $1 || '%') as requests,
            (select count(*)::int from outbox o where o.aggregate_key in (select c.card_no from cards c join cardholders h using (cardholder_id) where h.school_id = $1)) as outbox,
            (select coalesce(sum(balance_fen), 0)::int from accounts where unit_id = $1) as balance_sum`,
    [school.schoolId],
  );
  return rows[0]!;
}

/**
 * The ledger check, scoped to one school's accounting unit (every account of its wallets, merchants and
 * unit lives there), so a suite checks its own books while other suites write: stored balances against
 * the postings, transactions touching them that do not sum to zero, wallets below their floor.
 */
export async function scopedLedgerCheck(
  pool: Pool,
  school: School,
): Promise<{ differences: unknown[]; unbalanced: unknown[]; belowFloor: unknown[] }> {
  const { rows: differences } = await pool.query(
    `select a.account_id, a.balance_fen, (a.normal_sign * coalesce(sum(p.amount_fen), 0))::bigint as recomputed_fen
       from accounts a left join ledger_postings p on p.account_id = a.account_id
      where a.unit_id = $1 group by a.account_id
     having a.balance_fen <> (a.normal_sign * coalesce(sum(p.amount_fen), 0))::bigint`,
    [school.schoolId],
  );
  const { rows: unbalanced } = await pool.query(
    `select p.transaction_id, sum(p.amount_fen)::bigint as sum_fen from ledger_postings p
      where p.transaction_id in (select q.transaction_id from ledger_postings q join accounts a using (account_id) where a.unit_id = $1)
      group by p.transaction_id having sum(p.amount_fen) <> 0 or count(*) < 2`,
    [school.schoolId],
  );
  const { rows: belowFloor } = await pool.query(
    `select account_id, wallet_kind, balance_fen from accounts
      where unit_id = $1 and (balance_fen < floor_fen or (wallet_kind is not null and balance_fen < 0))`,
    [school.schoolId],
  );
  return { differences, unbalanced, belowFloor };
}
