import type { Pool } from '../db/pool.ts';
import { Book, credit, debit } from '../ledger/book.ts';
import { fenToJson } from '../ledger/money.ts';
import { lockAccounts, withLedgerTransaction } from '../ledger/store/unit-of-work.ts';
import { writeLedger, type PlannedTransaction } from '../ledger/store/write.ts';
import { subjects } from '../ledger/subjects.ts';

/**
 * 结算凭证: for every merchant line of an approved statement that is owed money, one transaction moving the
 * approved amount from the merchant's payable to the bank clearing account it is paid out through. The
 * payable is the sum of its lanes (the purchase batches' slots credit one each); the payout debits lane 0. All the
 * lines in one database transaction; a line already posted is skipped, so a retry posts nothing twice.
 */
export async function postSettlementJournal(
  db: Pool,
  statementId: string,
): Promise<{ posted: number; totalFen: bigint }> {
  return withLedgerTransaction(db, async (client) => {
    const { rows: statement } = await client.query<{ state: string; business_date: string }>(
      `select state, business_date::text from settlement_statements where statement_id = $1 for update`,
      [statementId],
    );
    if (statement[0]?.state !== 'approved' && statement[0]?.state !== 'settled')
      throw new Error(`statement ${statementId} is ${statement[0]?.state ?? 'missing'}, not approved`);
    const { rows: lines } = await client.query<{
      merchant_id: string;
      payable_fen: bigint;
      payable: bigint;
      clearing: bigint;
    }>(
      `select l.merchant_id, l.payable_fen, p.account_id as payable, c.account_id as clearing
         from settlement_lines l
         join accounts p on p.merchant_id = l.merchant_id and p.subject_code = $2 and p.lane = 0
         join accounts c on c.unit_id = p.unit_id and c.subject_code = $3 and c.cardholder_id is null and c.merchant_id is null
        where l.statement_id = $1 and l.payable_fen > 0 and l.transaction_id is null
        order by l.merchant_id`,
      [statementId, subjects.merchantPayables, subjects.bankClearing],
    );
    if (lines.length === 0) return { posted: 0, totalFen: 0n };
    const book = new Book(
      await lockAccounts(
        client,
        lines.flatMap((l) => [l.payable, l.clearing]),
      ),
    );
    const requestKey = (merchantId: string) => `settlement:${statementId}:${merchantId}`;
    const transactions: PlannedTransaction[] = lines.map((line) => ({
      requestKey: requestKey(line.merchant_id),
      kind: 'settlement',
      amountFen: line.payable_fen,
      merchantId: line.merchant_id,
      businessDate: statement[0]!.business_date,
      detail: { statementId },
      postings: book.post([debit(line.payable, line.payable_fen), credit(line.clearing, line.payable_fen)]),
      event: {
        topic: 'ledger.settlement',
        aggregateKey: line.merchant_id,
        payload: { statementId, merchantId: line.merchant_id, amountFen: fenToJson(line.payable_fen) },
      },
    }));
    await writeLedger(client, { transactions, balances: book.changed(), requests: [] });
    await client.query(
      `update settlement_lines l set transaction_id = t.transaction_id
         from ledger_transactions t where t.request_key = 'settlement:' || l.statement_id || ':' || l.merchant_id
          and l.statement_id = $1 and l.transaction_id is null`,
      [statementId],
    );
    return { posted: lines.length, totalFen: lines.reduce((sum, l) => sum + l.payable_fen, 0n) };
  });
}
