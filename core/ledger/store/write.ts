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

/**
 * Stores a whole batch in one statement: transactions, their postings, the new balances, daily spending,
 * outbox events and request answers. One round trip however large the batch, so a batch of purchases
 * costs about what one costs. Returns each request's stored answer (with its transaction id).
 */
export async function writeLedger(
  client: Client,
  write: LedgerWrite,
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
  const postings = transactions.flatMap((tx) => tx.postings.map((p) => ({ key: tx.requestKey, ...p })));
  // Named: each connection parses it once and, after a few runs, keeps one plan for it (it takes arrays,
  // so one plan fits every batch size) instead of parsing and planning it for every batch.
  const { rows } = await client.query<{ request_key: string; response: Record<string, unknown> }>({
    name: 'ledger-write',
    text: `with tx as (
       insert into ledger_transactions (request_key, kind, amount_fen, original_transaction_id, card_no, terminal_id,
                                        merchant_id, meal_period, business_date, detail)
       select * from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                            $8::text[], $9::date[], $10::jsonb[])
       returning transaction_id, request_key
     ), posted as (
       insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
       select tx.transaction_id, p.account_id, p.amount_fen, p.balance_fen_after
         from unnest($11::text[], $12::bigint[], $13::bigint[], $14::bigint[])
                as p(request_key, account_id, amount_fen, balance_fen_after)
         join tx using (request_key)
     ), balances as (
       update accounts a set balance_fen = b.balance_fen
         from unnest($15::bigint[], $16::bigint[]) as b(account_id, balance_fen)
        where a.account_id = b.account_id and a.account_id = any($15::bigint[])
     ), spends as (
       update cards c set spent_on = d.spent_on, spent_fen = d.spent_fen
         from unnest($17::text[], $18::date[], $19::bigint[]) as d(card_no, spent_on, spent_fen)
        where c.card_no = d.card_no and c.card_no = any($17::text[])
     ), events as (
       insert into outbox (topic, aggregate_key, payload)
       select e.topic, e.aggregate_key, e.payload || jsonb_build_object('transactionId', tx.transaction_id)
         from unnest($20::text[], $21::text[], $22::text[], $23::jsonb[]) as e(request_key, topic, aggregate_key, payload)
         join tx using (request_key)
     )
     insert into ledger_requests (request_key, kind, fingerprint, amount_fen, outcome, transaction_id, response)
     select r.request_key, r.kind, r.fingerprint, r.amount_fen, r.outcome, tx.transaction_id,
            case when tx.transaction_id is null then r.response
                 else r.response || jsonb_build_object('transactionId', tx.transaction_id) end
       from unnest($24::text[], $25::text[], $26::text[], $27::bigint[], $28::text[], $29::jsonb[])
              as r(request_key, kind, fingerprint, amount_fen, outcome, response)
       left join tx using (request_key)
     returning request_key, response`,
    values: [
      transactions.map((t) => t.requestKey),
      transactions.map((t) => t.kind),
      transactions.map((t) => s(t.amountFen)),
      transactions.map((t) => s(t.originalTransactionId)),
      transactions.map((t) => t.cardNo ?? null),
      transactions.map((t) => t.terminalId ?? null),
      transactions.map((t) => t.merchantId ?? null),
      transactions.map((t) => t.mealPeriod ?? null),
      transactions.map((t) => t.businessDate),
      transactions.map((t) => (t.detail ? JSON.stringify(t.detail) : null)),
      postings.map((p) => p.key),
      postings.map((p) => s(p.accountId)),
      postings.map((p) => s(p.amountFen)),
      postings.map((p) => s(p.balanceFenAfter)),
      balances.map((b) => s(b.accountId)),
      balances.map((b) => s(b.balanceFen)),
      spends.map((d) => d.cardNo),
      spends.map((d) => d.spentOn),
      spends.map((d) => s(d.spentFen)),
      transactions.map((t) => t.requestKey),
      transactions.map((t) => t.event.topic),
      transactions.map((t) => t.event.aggregateKey),
      transactions.map((t) => JSON.stringify(t.event.payload)),
      requests.map((r) => r.requestKey),
      requests.map((r) => r.kind),
      requests.map((r) => r.fingerprint),
      requests.map((r) => s(r.amountFen)),
      requests.map((r) => r.outcome),
      requests.map((r) => JSON.stringify(r.response)),
    ],
  });
  return new Map(rows.map((row) => [row.request_key, row.response]));
}
