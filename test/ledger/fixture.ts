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
  await pool.query(`insert into category_terminal_bars (category_id, terminal_id) values (3, $1)`, [
    s.barredPos,
  ]);
  return s;
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
