import type { WalletKind } from '../subjects.ts';
import type { Client } from './unit-of-work.ts';

export interface CardRef {
  cardNo: string;
  cardholderId: bigint;
  status: 'active' | 'frozen' | 'blacklisted' | 'cancelled';
  expiresOn: string;
  /** The accounting unit of the cardholder's school. */
  unitId: string;
  wallets: Partial<Record<WalletKind, bigint>>;
}

/** A card with its holder's wallets; `lock` takes the card row first, as writers that need it do. */
export async function findCard(client: Client, cardNo: string, lock = false): Promise<CardRef | undefined> {
  const { rows } = await client.query<{
    card_no: string;
    cardholder_id: bigint;
    status: CardRef['status'];
    expires_on: string;
    school_id: string;
    wallets: Record<string, string> | null;
  }>(
    `select c.card_no, c.cardholder_id, c.status, c.expires_on::text, h.school_id,
            (select json_object_agg(a.wallet_kind, a.account_id::text) from accounts a where a.cardholder_id = c.cardholder_id) as wallets
       from cards c join cardholders h on h.cardholder_id = c.cardholder_id
      where c.card_no = $1 ${lock ? 'for update of c' : ''}`,
    [cardNo],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    cardNo: row.card_no,
    cardholderId: row.cardholder_id,
    status: row.status,
    expiresOn: row.expires_on,
    unitId: row.school_id,
    wallets: Object.fromEntries(Object.entries(row.wallets ?? {}).map(([kind, id]) => [kind, BigInt(id)])),
  };
}

export async function findUnitAccount(
  client: Client,
  unitId: string,
  subjectCode: string,
): Promise<bigint | undefined> {
  const { rows } = await client.query<{ account_id: bigint }>(
    `select account_id from accounts where unit_id = $1 and subject_code = $2 and cardholder_id is null and merchant_id is null`,
    [unitId, subjectCode],
  );
  return rows[0]?.account_id;
}

export interface TransactionRef {
  transactionId: bigint;
  kind: string;
  amountFen: bigint;
  businessDate: string;
  cardNo: string | null;
  merchantId: string | null;
  postings: Array<{ accountId: bigint; amountFen: bigint; subjectCode: string }>;
  reversedBy: bigint | null;
  /** The refunds that stand (not reversed). */
  refundedFen: bigint;
}

/** A refund that a reversal has undone no longer counts against its purchase. */
const standingRefunds = `r.kind = 'refund' and not exists (select 1 from ledger_transactions x
  where x.original_transaction_id = r.transaction_id and x.kind = 'reversal')`;

/**
 * A transaction with its postings, its reversal and its standing refunds. `lock` takes its row (before
 * any card or account row), so two refunds or a refund and a reversal of one purchase run one after the
 * other and each sees what the other did.
 */
export async function findTransaction(
  client: Client,
  transactionId: bigint,
  lock = false,
): Promise<TransactionRef | undefined> {
  if (lock)
    await client.query(`select 1 from ledger_transactions where transaction_id = $1 for update`, [
      transactionId.toString(),
    ]);
  const { rows } = await client.query<{
    transaction_id: bigint;
    kind: string;
    business_date: string;
    amount_fen: bigint;
    card_no: string | null;
    merchant_id: string | null;
    postings: Array<{ accountId: string; amountFen: string; subjectCode: string }>;
    reversed_by: bigint | null;
    refunded_fen: bigint;
  }>(
    `select t.transaction_id, t.kind, t.amount_fen, t.card_no, t.merchant_id, t.business_date::text,
            (select json_agg(json_build_object('accountId', p.account_id::text, 'amountFen', p.amount_fen::text, 'subjectCode', a.subject_code) order by p.posting_id)
               from ledger_postings p join accounts a on a.account_id = p.account_id where p.transaction_id = t.transaction_id) as postings,
            (select r.transaction_id from ledger_transactions r where r.original_transaction_id = t.transaction_id and r.kind = 'reversal') as reversed_by,
            coalesce((select sum(r.amount_fen) from ledger_transactions r
                       where r.original_transaction_id = t.transaction_id and ${standingRefunds}), 0)::bigint as refunded_fen
       from ledger_transactions t where t.transaction_id = $1`,
    [transactionId.toString()],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    transactionId: row.transaction_id,
    kind: row.kind,
    amountFen: row.amount_fen,
    businessDate: row.business_date,
    cardNo: row.card_no,
    merchantId: row.merchant_id,
    postings: row.postings.map((p) => ({
      accountId: BigInt(p.accountId),
      amountFen: BigInt(p.amountFen),
      subjectCode: p.subjectCode,
    })),
    reversedBy: row.reversed_by,
    refundedFen: row.refunded_fen,
  };
}

/** Locks a card row (cards before accounts, as every writer does). */
export async function lockCard(client: Client, cardNo: string): Promise<void> {
  await client.query(`select 1 from cards where card_no = $1 for update`, [cardNo]);
}

/**
 * Gives a purchase's amount back to the card's daily spending when it is undone on the day it was made
 * (a reversal, a refund): the daily limits count what was spent and stayed spent. The card row must be
 * locked already.
 */
export async function giveBackDailySpend(
  client: Client,
  cardNo: string,
  purchaseDate: string,
  amountFen: bigint,
): Promise<void> {
  await client.query(
    `update cards set spent_fen = greatest(0, spent_fen - $3::bigint) where card_no = $1 and spent_on = $2::date`,
    [cardNo, purchaseDate, amountFen.toString()],
  );
}
