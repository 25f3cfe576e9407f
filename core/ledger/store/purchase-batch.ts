import type { LockedAccount } from '../book.ts';
import type { StoredRequest } from '../idempotency.ts';
import type { MealPeriod } from '../calendar.ts';
import type { CardState, TerminalState } from '../purchase/types.ts';
import type { SpendableWallet } from '../subjects.ts';
import { createPool, type Pool } from '../../db/pool.ts';
import type { Client } from './unit-of-work.ts';
import { reserveTransactionIdsSql } from './write.ts';

/*
 * The reads of a purchase batch in two round trips instead of four: under load every round trip is a
 * wake-up of the database backend and of the API, and a batch holds the merchant's payable row for
 * part of them. Amounts travel as text inside JSON, so bigint stays exact.
 */

/** A pool of createPurchasePool's: the purchase path prepares its statements on these connections only. */
export type PurchasePool = Pool & { readonly plansByKey: true };

/**
 * The purchase batches' own connections, pipelined: a batch is then two round trips (begin + read-and-lock,
 * write + commit) instead of four. Every statement they run finds its rows by key, so sequential scans are
 * off. A connection keeps one generic plan of a statement until a table it reads is analysed again. Made
 * on a young system, whose ledger tables were a few pages then, that plan scanned them whole as they grew,
 * until autovacuum got to them: a stored-answer lookup of 17 keys took 20 ms at 50,000 requests instead of
 * 0.1 ms, and a 20 s benchmark run never met an analyze. With lookups by key only, the generic plan is the
 * one wanted, and it is used from the first run: left to choose, PostgreSQL planned small batches afresh
 * each time (a third of its CPU at two purchases a batch).
 */
export function createPurchasePool(databaseUrl: string, connections: number): PurchasePool {
  const pool = createPool(databaseUrl, {
    application: 'onecard-api-purchases',
    max: connections,
    pipeline: true,
    settings: { enable_seqscan: 'off', plan_cache_mode: 'force_generic_plan' },
  });
  return Object.assign(pool, { plansByKey: true as const });
}

const big = (value: string | null | undefined): bigint | null =>
  value === null || value === undefined ? null : BigInt(value);

const requestJson = `json_build_object('requestKey', r.request_key, 'fingerprint', r.fingerprint,
  'amountFen', r.amount_fen::text, 'outcome', r.outcome, 'response', r.response)`;

/**
 * A terminal, the account that takes its takings (the given lane of its merchant's payable, lane 0 when
 * the merchant has no such lane), and its school's meal periods.
 */
const terminalJson = (lane: string) => `json_build_object('terminalId', t.terminal_id, 'kind', t.kind,
  'status', t.status, 'merchantId', t.merchant_id, 'fixedAmountFen', t.fixed_amount_fen::text,
  'portionPriceFen', t.portion_price_fen::text,
  'payableAccountId', (select a.account_id::text from accounts a
    where a.merchant_id = coalesce(m.parent_merchant_id, m.merchant_id) and a.subject_code = '2101'
      and a.lane in (0, ${lane}) order by a.lane desc limit 1),
  'mealPeriods', coalesce(
    (select json_agg(json_build_object('periodCode', p.period_code, 'startsAtMin', p.starts_at_min, 'endsAtMin', p.ends_at_min))
       from meal_periods p where p.scope = t.school_id),
    (select json_agg(json_build_object('periodCode', p.period_code, 'startsAtMin', p.starts_at_min, 'endsAtMin', p.ends_at_min))
       from meal_periods p where p.scope = '*'),
    '[]'))`;

type Row = { kind: 'r' | 't' | 'c' | 'a' | 'n'; row: Record<string, unknown> };

/** The 'n' row of a batch's read: a transaction id for each of its request keys ($1, distinct). */
const reservedIdsRow = `select 'n', json_build_object('ids', ${reserveTransactionIdsSql('cardinality($1::text[])')})`;

const parseReservedIds = (row: Record<string, unknown>) => (row.ids as string[]).map(BigInt);

function parseRequest(row: Record<string, unknown>): StoredRequest {
  const r = row as { requestKey: string; fingerprint: string; amountFen: string | null; outcome: string };
  return { ...r, amountFen: big(r.amountFen), response: row.response };
}

function parseTerminal(row: Record<string, unknown>): TerminalState {
  const t = row as Record<string, string | null> & { mealPeriods: MealPeriod[] };
  return {
    terminalId: t.terminalId!,
    kind: t.kind!,
    status: t.status!,
    merchantId: t.merchantId ?? null,
    payableAccountId: big(t.payableAccountId),
    fixedAmountFen: big(t.fixedAmountFen),
    portionPriceFen: big(t.portionPriceFen),
    mealPeriods: t.mealPeriods,
  };
}

/**
 * Stored answers of the batch's request keys, its terminals, and a transaction id for each distinct
 * request key, in one query.
 */
export async function readRequestsAndTerminals(
  client: Client,
  requestKeys: readonly string[],
  terminalIds: readonly string[],
  payableLane: number,
): Promise<{
  stored: Map<string, StoredRequest>;
  terminals: Map<string, TerminalState>;
  transactionIds: bigint[];
}> {
  const { rows } = await client.query<Row>(
    `select 'r' as kind, ${requestJson} as row from ledger_requests r where r.request_key = any($1::text[])
     union all
     select 't', ${terminalJson('$3::smallint')}
       from terminals t left join merchants m on m.merchant_id = t.merchant_id
      where t.terminal_id = any($2::text[])
     union all
     ${reservedIdsRow}`,
    [[...new Set(requestKeys)], terminalIds, payableLane],
  );
  const stored = new Map<string, StoredRequest>();
  const terminals = new Map<string, TerminalState>();
  let transactionIds: bigint[] = [];
  for (const { kind, row } of rows) {
    if (kind === 'r') stored.set(row.requestKey as string, parseRequest(row));
    else if (kind === 't') terminals.set(row.terminalId as string, parseTerminal(row));
    else transactionIds = parseReservedIds(row);
  }
  return { stored, terminals, transactionIds };
}

/**
 * The read-and-lock statement: $1 the request keys (distinct), $2 the card numbers (sorted), $3 the
 * terminal ids, $4 the payable lane.
 */
export const readAndLockText = `with batch_terminals as materialized (
       select t.*, ${terminalJson('$4::smallint')} as row
         from terminals t left join merchants m on m.merchant_id = t.merchant_id
        where t.terminal_id = any($3::text[])
     ), locked_cards as materialized (
       select c.card_no, c.cardholder_id, c.status, c.expires_on, c.category_id,
              coalesce(c.per_tx_limit_fen, k.per_tx_limit_fen) as per_tx_limit_fen,
              coalesce(c.daily_limit_fen, k.daily_limit_fen) as daily_limit_fen,
              k.daily_max_fen, k.wallet_order, c.spent_on, c.spent_fen, c.pin_hash
         from cards c join card_categories k on k.category_id = c.category_id
        where c.card_no = any($2::text[])
        order by c.card_no
          for update of c
     ), locked_accounts as materialized (
       select a.account_id, a.normal_sign, a.balance_fen, a.floor_fen, a.cardholder_id, a.wallet_kind
         from accounts a
        where (a.cardholder_id = any(array(select lc.cardholder_id from locked_cards lc))
               and a.wallet_kind in ('main', 'subsidy'))
           or a.account_id = any(array(select (bt.row->>'payableAccountId')::bigint from batch_terminals bt))
        order by a.account_id
          for update of a
     )
     select 'r' as kind, ${requestJson} as row from ledger_requests r where r.request_key = any($1::text[])
     union all
     select 't', bt.row from batch_terminals bt
     union all
     select 'c', json_build_object('cardNo', lc.card_no, 'cardholderId', lc.cardholder_id::text,
              'status', lc.status, 'expiresOn', lc.expires_on::text, 'categoryId', lc.category_id,
              'perTxLimitFen', lc.per_tx_limit_fen::text, 'dailyLimitFen', lc.daily_limit_fen::text,
              'dailyMaxFen', lc.daily_max_fen::text, 'walletOrder', lc.wallet_order,
              'spentOn', lc.spent_on::text, 'spentFen', lc.spent_fen::text, 'pinHash', lc.pin_hash,
              'barred', (select json_agg(b.terminal_id) from category_terminal_bars b
                          where b.category_id = lc.category_id and b.terminal_id = any($3::text[])))
       from locked_cards lc
     union all
     select 'a', json_build_object('accountId', la.account_id::text, 'normalSign', la.normal_sign,
              'balanceFen', la.balance_fen::text, 'floorFen', la.floor_fen::text,
              'cardholderId', la.cardholder_id::text, 'walletKind', la.wallet_kind)
       from locked_accounts la
     union all
     ${reservedIdsRow}`;

/**
 * The whole read side of a batch in one statement: the stored answers of its request keys, its
 * terminals, then its cards locked (in card_no order) and then their main and subsidy wallets and the
 * terminals' payable accounts locked (in account_id order): the order every writer uses. It also reserves
 * a transaction id for each request key, so that the write needs no ids back from the database. The CTEs are
 * materialized and each lock CTE reads the one before it, so every card is locked before any account.
 * Reading the requests and terminals here rather than in a round trip of their own changes nothing
 * under READ COMMITTED: a plain read takes no lock and each statement sees what was committed before it.
 */
export async function readAndLockBatch(
  client: Client,
  requestKeys: readonly string[],
  cardNos: readonly string[],
  terminalIds: readonly string[],
  payableLane: number,
): Promise<{
  stored: Map<string, StoredRequest>;
  terminals: Map<string, TerminalState>;
  cards: Map<string, CardState>;
  accounts: LockedAccount[];
  transactionIds: bigint[];
}> {
  // Named, like the write: parsed once per connection (a PurchasePool's, which plans by key).
  const { rows } = await client.query<Row>({
    name: 'purchase-read-and-lock',
    text: readAndLockText,
    values: [[...new Set(requestKeys)], [...new Set(cardNos)].sort(), [...new Set(terminalIds)], payableLane],
  });
  const stored = new Map<string, StoredRequest>();
  const terminals = new Map<string, TerminalState>();
  const cards = new Map<string, CardState>();
  const byHolder = new Map<string, CardState[]>();
  const accounts: LockedAccount[] = [];
  let transactionIds: bigint[] = [];
  const walletsOf: Array<{ cardholderId: string; kind: string; accountId: bigint }> = [];
  for (const { kind, row } of rows) {
    if (kind === 'r') stored.set(row.requestKey as string, parseRequest(row));
    else if (kind === 't') terminals.set(row.terminalId as string, parseTerminal(row));
    else if (kind === 'c') {
      const c = row as Record<string, string | null> & {
        categoryId: number;
        walletOrder: SpendableWallet[];
        barred: string[] | null;
      };
      const card: CardState = {
        cardNo: c.cardNo!,
        cardholderId: BigInt(c.cardholderId!),
        status: c.status as CardState['status'],
        expiresOn: c.expiresOn!,
        categoryId: c.categoryId,
        perTxLimitFen: big(c.perTxLimitFen),
        dailyLimitFen: big(c.dailyLimitFen),
        dailyMaxFen: big(c.dailyMaxFen),
        walletOrder: c.walletOrder,
        barredTerminalIds: new Set(c.barred ?? []),
        walletAccountIds: {},
        spentOn: c.spentOn ?? null,
        spentFen: BigInt(c.spentFen!),
        pinHash: c.pinHash ?? null,
      };
      cards.set(card.cardNo, card);
      byHolder.set(c.cardholderId!, [...(byHolder.get(c.cardholderId!) ?? []), card]);
    } else if (kind === 'n') transactionIds = parseReservedIds(row);
    else {
      const a = row as Record<string, string | null> & { normalSign: number };
      const accountId = BigInt(a.accountId!);
      accounts.push({
        accountId,
        normalSign: a.normalSign === 1 ? 1 : -1,
        balanceFen: BigInt(a.balanceFen!),
        floorFen: big(a.floorFen),
      });
      if (a.cardholderId && a.walletKind)
        walletsOf.push({ cardholderId: a.cardholderId, kind: a.walletKind, accountId });
    }
  }
  for (const wallet of walletsOf)
    for (const card of byHolder.get(wallet.cardholderId) ?? [])
      card.walletAccountIds[wallet.kind as SpendableWallet] = wallet.accountId;
  return { stored, terminals, cards, accounts, transactionIds };
}
