import { assertLedger } from '../assert.ts';
import type { PostedLine } from '../book.ts';
import type { Fen } from '../money.ts';
import type { Client } from './unit-of-work.ts';

export type TransactionKind =
  | 'purchase'
  | 'offline_purchase'
  | 'top_up'
  | 'subsidy_issue'
  | 'subsidy_clearing'
  | 'refund'
  | 'transfer'
  | 'reversal'
  | 'deposit_in'
  | 'deposit_out'
  | 'opening'
  | 'settlement';

/** A transaction decided and posted in the book, waiting to be stored with its outbox event. */
export interface PlannedTransaction {
  requestKey: string;
  kind: TransactionKind;
  amountFen: Fen;
  originalTransactionId?: bigint;
  cardNo?: string;
  terminalId?: string;
  merchantId?: string;
  mealPeriod?: string | null;
  businessDate: string;
  detail?: Record<string, unknown>;
  postings: PostedLine[];
  /** Reserved with the batch's reads (reserveTransactionIdsSql); writeLedger reserves the missing ones. */
  transactionId?: bigint;
  /** The outbox event; its payload gets the transaction id added. */
  event: { topic: string; aggregateKey: string; payload: Record<string, unknown> };
}

/** The answer stored for a request key; a transaction with the same key lends it its id. */
export interface RequestRecord {
  requestKey: string;
  kind: string;
  fingerprint: string;
  amountFen: Fen | null;
  outcome: string;
  response: Record<string, unknown>;
}

export interface LedgerWrite {
  transactions: PlannedTransaction[];
  balances: Array<{ accountId: bigint; balanceFen: Fen }>;
  requests: RequestRecord[];
  cardSpends?: Array<{ cardNo: string; spentOn: string; spentFen: Fen }>;
}

const s = (value: bigint | null | undefined) =>
  value === null || value === undefined ? null : value.toString();

/**
 * An SQL expression: an array of `countSql` transaction ids (SQL text, never a value from outside) from
 * ledger_transactions' identity sequence, as text. A statement that reads before the write can reserve them
 * in the same round trip (the purchase batch's read-and-lock does). An id never used is a gap, as after a
 * rollback, and ids follow neither commit nor posting order: a batch reserves its ids before it decides.
 */
export const reserveTransactionIdsSql = (countSql: string) =>
  `array(select nextval('ledger_transactions_transaction_id_seq')::text from generate_series(1, ${countSql}))`;

export async function reserveTransactionIds(client: Client, count: number): Promise<bigint[]> {
  const { rows } = await client.query<{ ids: string[] }>(
    `select ${reserveTransactionIdsSql('$1::int')} as ids`,
    [count],
  );
  return rows[0]!.ids.map(BigInt);
}

/**
 * The ledger write: $1 transactions, $2 postings, $3 balances, $4 daily spends, $5 requests, $6 outbox
 * events, as JSON. Every row arrives whole, its transaction id included, so no part joins another and
 * nothing comes back.
 */
export const ledgerWriteText = `with transactions as (
       insert into ledger_transactions (transaction_id, request_key, kind, amount_fen, original_transaction_id,
                                        card_no, terminal_id, merchant_id, meal_period, business_date, detail)
       overriding system value
       select * from json_to_recordset($1::json) as t(transaction_id bigint, request_key text, kind text,
         amount_fen bigint, original_transaction_id bigint, card_no text, terminal_id text, merchant_id text,
         meal_period text, business_date date, detail jsonb)
     ), postings as (
       insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
       select * from json_to_recordset($2::json)
                  as p(transaction_id bigint, account_id bigint, amount_fen bigint, balance_fen_after bigint)
     ), new_balances as materialized (
       select * from json_to_recordset($3::json) as b(account_id bigint, balance_fen bigint)
     ), balances as (
       update accounts a set balance_fen = b.balance_fen
         from new_balances b
        where a.account_id = b.account_id and a.account_id = any(array(select account_id from new_balances))
     ), new_spends as materialized (
       select * from json_to_recordset($4::json) as d(card_no text, spent_on date, spent_fen bigint)
     ), spends as (
       update cards c set spent_on = d.spent_on, spent_fen = d.spent_fen
         from new_spends d
        where c.card_no = d.card_no and c.card_no = any(array(select card_no from new_spends))
     ), events as (
       insert into outbox (topic, aggregate_key, payload)
       select * from json_to_recordset($6::json) as e(topic text, aggregate_key text, payload json)
     )
     insert into ledger_requests (request_key, kind, fingerprint, amount_fen, outcome, transaction_id, response)
     select * from json_to_recordset($5::json) as r(request_key text, kind text, fingerprint text,
       amount_fen bigint, outcome text, transaction_id bigint, response jsonb)`;

/**
 * Stores a whole batch in one statement: transactions, their postings, the new balances, daily spending,
 * outbox events and request answers. One round trip however large the batch, so a batch of purchases
 * costs about what one costs. A transaction without an id gets one reserved first (a round trip more).
 * Returns each request's stored answer: its transaction's id is added to the answer, and to the event's
 * payload, as `transactionId`.
 */
export async function writeLedger(
  client: Client,
  write: LedgerWrite,
  options: { prepared?: boolean } = {},
): Promise<Map<string, Record<string, unknown>>> {
  const { transactions, balances, requests } = write;
  const spends = write.cardSpends ?? [];
  for (const tx of transactions) {
    let sum = 0n;
    for (const posting of tx.postings) sum += posting.amountFen;
    assertLedger(
      sum === 0n && tx.postings.length >= 2,
      `transaction ${tx.requestKey} does not balance before writing`,
    );
  }
  const unnumbered = transactions.filter((t) => t.transactionId === undefined).length;
  // On a pipelined connection the caller's commit is already queued behind the write: a round trip here
  // would let it overtake the write.
  assertLedger(
    unnumbered === 0 || client.pipeline !== true,
    'a pipelined ledger write must come with its transaction ids',
  );
  const reserved = unnumbered > 0 ? await reserveTransactionIds(client, unnumbered) : [];
  const idOfKey = new Map<string, bigint>();
  const ids = transactions.map((t) => {
    const id = t.transactionId ?? reserved.shift()!;
    idOfKey.set(t.requestKey, id);
    return id;
  });
  const stored = new Map<string, Record<string, unknown>>();
  // The batch goes over as JSON documents, read back into rows by json_to_recordset: one JSON.stringify
  // each, where 29 array parameters cost pg an escaped array literal per value (a third of the API's
  // allocations under load, in the swipe benchmark's heap profile). Amounts travel as text.
  const rowsOf = {
    transactions: transactions.map((t, index) => ({
      transaction_id: s(ids[index]),
      request_key: t.requestKey,
      kind: t.kind,
      amount_fen: s(t.amountFen),
      original_transaction_id: s(t.originalTransactionId),
      card_no: t.cardNo ?? null,
      terminal_id: t.terminalId ?? null,
      merchant_id: t.merchantId ?? null,
      meal_period: t.mealPeriod ?? null,
      business_date: t.businessDate,
      detail: t.detail ?? null,
    })),
    postings: transactions.flatMap((t, index) =>
      t.postings.map((p) => ({
        transaction_id: s(ids[index]),
        account_id: s(p.accountId),
        amount_fen: s(p.amountFen),
        balance_fen_after: s(p.balanceFenAfter),
      })),
    ),
    balances: balances.map((b) => ({ account_id: s(b.accountId), balance_fen: s(b.balanceFen) })),
    spends: spends.map((d) => ({ card_no: d.cardNo, spent_on: d.spentOn, spent_fen: s(d.spentFen) })),
    requests: requests.map((r) => {
      const transactionId = idOfKey.get(r.requestKey);
      const response =
        transactionId === undefined ? r.response : { ...r.response, transactionId: Number(transactionId) };
      stored.set(r.requestKey, response);
      return {
        request_key: r.requestKey,
        kind: r.kind,
        fingerprint: r.fingerprint,
        amount_fen: s(r.amountFen),
        outcome: r.outcome,
        transaction_id: s(transactionId),
        response,
      };
    }),
    events: transactions.map((t, index) => ({
      topic: t.event.topic,
      aggregate_key: t.event.aggregateKey,
      payload: { ...t.event.payload, transactionId: Number(ids[index]) },
    })),
  };
  // Prepared (the purchase batches, on connections that plan by key: createPurchasePool): each connection
  // parses it once and keeps its generic plan (its inputs are documents, so one plan fits every batch size).
  // Elsewhere it is planned for each write with the tables as they are then: a plan kept from a young
  // system's first writes would scan accounts and cards whole as they grow.
  await client.query({
    ...(options.prepared && { name: 'ledger-write' }),
    text: ledgerWriteText,
    values: [
      JSON.stringify(rowsOf.transactions),
      JSON.stringify(rowsOf.postings),
      JSON.stringify(rowsOf.balances),
      JSON.stringify(rowsOf.spends),
      JSON.stringify(rowsOf.requests),
      JSON.stringify(rowsOf.events),
    ],
  });
  return stored;
}
