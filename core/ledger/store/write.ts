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

/** The ledger write: $1 transactions, $2 postings, $3 balances, $4 daily spends, $5 requests, as JSON. */
export const ledgerWriteText = `with input as materialized (
       select * from json_to_recordset($1::json) as t(request_key text, kind text, amount_fen bigint,
         original_transaction_id bigint, card_no text, terminal_id text, merchant_id text, meal_period text,
         business_date date, detail jsonb, topic text, aggregate_key text, payload jsonb)
     ), tx as (
       insert into ledger_transactions (request_key, kind, amount_fen, original_transaction_id, card_no, terminal_id,
                                        merchant_id, meal_period, business_date, detail)
       select request_key, kind, amount_fen, original_transaction_id, card_no, terminal_id, merchant_id, meal_period,
              business_date, detail
         from input
       returning transaction_id, request_key
     ), posted as (
       insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
       select tx.transaction_id, p.account_id, p.amount_fen, p.balance_fen_after
         from json_to_recordset($2::json) as p(request_key text, account_id bigint, amount_fen bigint, balance_fen_after bigint)
         join tx using (request_key)
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
       select e.topic, e.aggregate_key, e.payload || jsonb_build_object('transactionId', tx.transaction_id)
         from input e join tx using (request_key)
     )
     insert into ledger_requests (request_key, kind, fingerprint, amount_fen, outcome, transaction_id, response)
     select r.request_key, r.kind, r.fingerprint, r.amount_fen, r.outcome, tx.transaction_id,
            case when tx.transaction_id is null then r.response
                 else r.response || jsonb_build_object('transactionId', tx.transaction_id) end
       from json_to_recordset($5::json)
              as r(request_key text, kind text, fingerprint text, amount_fen bigint, outcome text, response jsonb)
       left join tx using (request_key)
     returning request_key, response`;

/**
 * Stores a whole batch in one statement: transactions, their postings, the new balances, daily spending,
 * outbox events and request answers. One round trip however large the batch, so a batch of purchases
 * costs about what one costs. Returns each request's stored answer (with its transaction id).
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
  // The batch goes over as five JSON documents, read back into rows by json_to_recordset: one
  // JSON.stringify each, where 29 array parameters cost pg an escaped array literal per value (a third of
  // the API's allocations under load, in the swipe benchmark's heap profile). Amounts travel as text.
  const rowsOf = {
    transactions: transactions.map((t) => ({
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
      topic: t.event.topic,
      aggregate_key: t.event.aggregateKey,
      payload: t.event.payload,
    })),
    postings: transactions.flatMap((t) =>
      t.postings.map((p) => ({
        request_key: t.requestKey,
        account_id: s(p.accountId),
        amount_fen: s(p.amountFen),
        balance_fen_after: s(p.balanceFenAfter),
      })),
    ),
    balances: balances.map((b) => ({ account_id: s(b.accountId), balance_fen: s(b.balanceFen) })),
    spends: spends.map((d) => ({ card_no: d.cardNo, spent_on: d.spentOn, spent_fen: s(d.spentFen) })),
    requests: requests.map((r) => ({
      request_key: r.requestKey,
      kind: r.kind,
      fingerprint: r.fingerprint,
      amount_fen: s(r.amountFen),
      outcome: r.outcome,
      response: r.response,
    })),
  };
  // Prepared (the purchase batches, on connections that plan by key: createPurchasePool): each connection
  // parses it once and, after a few runs, keeps one plan for it (its inputs are documents, so one plan fits
  // every batch size). Elsewhere it is planned for each write with the tables as they are then: a plan kept
  // from a young system's first writes would scan accounts and cards whole as they grow.
  const { rows } = await client.query<{ request_key: string; response: Record<string, unknown> }>({
    ...(options.prepared && { name: 'ledger-write' }),
    text: ledgerWriteText,
    values: [
      JSON.stringify(rowsOf.transactions),
      JSON.stringify(rowsOf.postings),
      JSON.stringify(rowsOf.balances),
      JSON.stringify(rowsOf.spends),
      JSON.stringify(rowsOf.requests),
    ],
  });
  return new Map(rows.map((row) => [row.request_key, row.response]));
}
