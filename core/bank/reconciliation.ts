import type { Pool } from '../db/pool.ts';
import type { StatementLine } from './port.ts';

/**
 * 圈存对账: the bank's statement against our top-up records and the ledger, line by line. What the bank
 * kept (a debit less its refunds) must equal what the ledger credited for that top-up, and every debit
 * must belong to one of our top-ups.
 */
export type ReconciliationIssue =
  | 'bank_debit_without_top_up'
  | 'top_up_debit_missing_at_bank'
  | 'bank_kept_differs_from_ledger'
  | 'bank_callback_missing';

export interface Reconciliation {
  since: string;
  matched: number;
  issues: Array<{
    issue: ReconciliationIssue;
    workflowId: string | null;
    debitId: string | null;
    detail: string;
  }>;
}

export async function reconcileTopUps(
  db: Pool,
  statement: StatementLine[],
  since: Date,
): Promise<Reconciliation> {
  const { rows } = await db.query<{
    workflow_id: string;
    bank_debit_id: string;
    credited_fen: string;
    bank_confirmed_at: Date | null;
  }>(
    `select t.workflow_id, t.bank_debit_id, t.bank_confirmed_at,
            coalesce((select sum(x.amount_fen) from ledger_transactions x where x.transaction_id = t.ledger_transaction_id), 0)::text as credited_fen
       from bank_top_ups t where t.bank_debit_id is not null and t.created_at >= $1`,
    [since],
  );
  const ours = new Map(rows.map((row) => [row.bank_debit_id, row]));
  const issues: Reconciliation['issues'] = [];
  let matched = 0;
  for (const line of statement) {
    const record = ours.get(line.debitId);
    ours.delete(line.debitId);
    if (!record) {
      issues.push({
        issue: 'bank_debit_without_top_up',
        workflowId: null,
        debitId: line.debitId,
        detail: `the bank debited ${line.amountFen} fen for ${line.reference}`,
      });
      continue;
    }
    const keptFen = line.amountFen - line.refundedFen;
    if (keptFen !== Number(record.credited_fen)) {
      issues.push({
        issue: 'bank_kept_differs_from_ledger',
        workflowId: record.workflow_id,
        debitId: line.debitId,
        detail: `the bank kept ${keptFen} fen, the ledger credited ${record.credited_fen} fen`,
      });
      continue;
    }
    if (!record.bank_confirmed_at)
      issues.push({
        issue: 'bank_callback_missing',
        workflowId: record.workflow_id,
        debitId: line.debitId,
        detail: 'no signed callback from the bank for this debit yet',
      });
    matched++;
  }
  for (const record of ours.values())
    issues.push({
      issue: 'top_up_debit_missing_at_bank',
      workflowId: record.workflow_id,
      debitId: record.bank_debit_id,
      detail: 'our record names a debit the bank statement does not have',
    });
  return { since: since.toISOString(), matched, issues };
}
