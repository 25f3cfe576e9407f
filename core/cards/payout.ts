import { Book, credit, debit, type PostingLine } from '../ledger/book.ts';
import { businessDate } from '../ledger/calendar.ts';
import { fenToJson, type Fen } from '../ledger/money.ts';
import { lockAccounts } from '../ledger/store/unit-of-work.ts';
import { writeLedger, type PlannedTransaction, type TransactionKind } from '../ledger/store/write.ts';
import { subjects } from '../ledger/subjects.ts';
import type { Client } from './office-command.ts';

export interface Payout {
  cardholderId: bigint;
  mainFen: Fen;
  subsidyFen: Fen;
  depositFen: Fen;
}

/**
 * 退卡结算 when a cardholder's account closes: the main wallet is paid out in cash, unspent subsidy goes
 * back to the school's subsidy expense, the card deposit is paid back. Posted through the money core's
 * book in the caller's database transaction, so the cancel and the money move together or not at all.
 * The caller holds the card rows locked (cards before accounts, as every writer does).
 */
export async function payOutCardholders(
  client: Client,
  input: { cardholderIds: bigint[]; requestKey: string; operatorId: string; at: Date },
): Promise<Payout[]> {
  if (input.cardholderIds.length === 0) return [];
  const { rows } = await client.query<{
    cardholder_id: bigint;
    school_id: string;
    wallet_kind: 'main' | 'subsidy' | 'deposit';
    account_id: bigint;
    cash: bigint;
    expense: bigint;
  }>(
    `select a.cardholder_id, h.school_id, a.wallet_kind, a.account_id,
            (select u.account_id from accounts u where u.unit_id = h.school_id and u.subject_code = $2 and u.cardholder_id is null and u.merchant_id is null) as cash,
            (select u.account_id from accounts u where u.unit_id = h.school_id and u.subject_code = $3 and u.cardholder_id is null and u.merchant_id is null) as expense
       from accounts a join cardholders h using (cardholder_id)
      where a.cardholder_id = any($1::bigint[])`,
    [input.cardholderIds.map(String), subjects.cash, subjects.subsidyExpense],
  );
  const ids = new Set<bigint>();
  for (const row of rows)
    for (const id of [row.account_id, row.cash, row.expense]) if (id !== null) ids.add(id);
  const book = new Book(await lockAccounts(client, ids));
  const payouts = new Map<bigint, Payout>();
  const transactions: PlannedTransaction[] = [];
  for (const row of rows) {
    const payout = payouts.get(row.cardholder_id) ?? {
      cardholderId: row.cardholder_id,
      mainFen: 0n,
      subsidyFen: 0n,
      depositFen: 0n,
    };
    payouts.set(row.cardholder_id, payout);
    const amount = book.available(row.account_id);
    if (amount <= 0n) continue;
    const plan: Record<string, { kind: TransactionKind; to: bigint }> = {
      main: { kind: 'refund', to: row.cash },
      subsidy: { kind: 'subsidy_clearing', to: row.expense },
      deposit: { kind: 'deposit_out', to: row.cash },
    };
    const { kind, to } = plan[row.wallet_kind]!;
    const lines: PostingLine[] = [debit(row.account_id, amount), credit(to, amount)];
    if (row.wallet_kind === 'main') payout.mainFen = amount;
    if (row.wallet_kind === 'subsidy') payout.subsidyFen = amount;
    if (row.wallet_kind === 'deposit') payout.depositFen = amount;
    transactions.push({
      requestKey: `${input.requestKey}:payout:${row.cardholder_id}:${row.wallet_kind}`,
      kind,
      amountFen: amount,
      businessDate: businessDate(input.at),
      detail: { reason: 'account_closed', wallet: row.wallet_kind, operatorId: input.operatorId },
      postings: book.post(lines),
      event: {
        topic: 'cards.account_closed_payout',
        aggregateKey: String(row.cardholder_id),
        payload: {
          cardholderId: String(row.cardholder_id),
          wallet: row.wallet_kind,
          amountFen: fenToJson(amount),
        },
      },
    });
  }
  await writeLedger(client, { transactions, balances: book.changed(), requests: [] });
  return [...payouts.values()];
}
