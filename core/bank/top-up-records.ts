import { createHash } from 'node:crypto';
import type { Pool } from '../db/pool.ts';

/**
 * The reconciliation record of one bank top-up (圈存对账): one row per workflow, moved forward as the
 * workflow goes, quoting the bank's debit (and refund) id and the ledger transaction, so finance staff can
 * match the bank's statement against the ledger line by line.
 */
export type TopUpStatus =
  | 'awaiting_reply'
  | 'approved'
  | 'declined'
  | 'expired'
  | 'bank_declined'
  | 'debited'
  | 'credited'
  | 'refunded'
  | 'completed';

export function hashCode(workflowId: string, code: string): string {
  return createHash('sha256').update(`${workflowId}\n${code}`).digest('hex');
}

export async function openTopUpRecord(
  db: Pool,
  record: {
    workflowId: string;
    cardNo: string;
    schoolId: string;
    amountFen: number;
    trigger: 'low_balance' | 'parent_request';
    guardianPhone: string;
    bankCardToken: string;
    codeHash: string;
  },
): Promise<void> {
  await db.query(
    `insert into bank_top_ups (workflow_id, card_no, school_id, amount_fen, trigger, guardian_phone, code_hash, bank_card_token, status)
     values ($1, $2, $3, $4, $5, $6, $7, $8, 'awaiting_reply') on conflict (workflow_id) do nothing`,
    [
      record.workflowId,
      record.cardNo,
      record.schoolId,
      record.amountFen,
      record.trigger,
      record.guardianPhone,
      record.codeHash,
      record.bankCardToken,
    ],
  );
}

export async function updateTopUpRecord(
  db: Pool,
  workflowId: string,
  change: {
    status: TopUpStatus;
    bankDebitId?: string;
    bankRefundId?: string;
    ledgerTransactionId?: string;
    detail?: Record<string, unknown>;
  },
): Promise<void> {
  await db.query(
    `update bank_top_ups set status = $2, bank_debit_id = coalesce($3, bank_debit_id),
            bank_refund_id = coalesce($4, bank_refund_id), ledger_transaction_id = coalesce($5::bigint, ledger_transaction_id),
            detail = detail || $6::jsonb, updated_at = now(),
            -- The bank's callback may come before our own record of the debit.
            bank_confirmed_at = coalesce(bank_confirmed_at, (select c.received_at from bank_callbacks c
              where c.debit_id = coalesce($3, bank_top_ups.bank_debit_id) and c.type = 'debit.succeeded'
                and c.amount_fen = bank_top_ups.amount_fen limit 1))
      where workflow_id = $1`,
    [
      workflowId,
      change.status,
      change.bankDebitId ?? null,
      change.bankRefundId ?? null,
      change.ledgerTransactionId ?? null,
      JSON.stringify(change.detail ?? {}),
    ],
  );
}

/** The bank card the parent was asked about, fixed when the request was sent. */
export async function topUpBankCard(db: Pool, workflowId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ bank_card_token: string | null }>(
    `select bank_card_token from bank_top_ups where workflow_id = $1`,
    [workflowId],
  );
  return rows[0]?.bank_card_token ?? undefined;
}

export async function codeMatches(db: Pool, workflowId: string, code: string): Promise<boolean> {
  const { rows } = await db.query<{ code_hash: string | null }>(
    `select code_hash from bank_top_ups where workflow_id = $1`,
    [workflowId],
  );
  return rows[0]?.code_hash === hashCode(workflowId, code);
}

/**
 * Approves the top-up when the code quoted is the one sent, in one statement: the check and the record's
 * move to `approved` cannot part. Asked again after it approved (a retried step), it answers true again.
 */
export async function approveIfCodeMatches(db: Pool, workflowId: string, code: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `update bank_top_ups set status = 'approved', updated_at = now()
      where workflow_id = $1 and code_hash = $2 and status in ('awaiting_reply', 'approved')`,
    [workflowId, hashCode(workflowId, code)],
  );
  return rowCount === 1;
}

/**
 * The top-ups waiting for a reply from this phone, for cards the phone is bound to now (a binding
 * changed since the request was sent no longer approves it). Newest first.
 */
export async function waitingTopUpsFor(
  db: Pool,
  phone: string,
): Promise<Array<{ workflowId: string; cardNo: string }>> {
  const { rows } = await db.query<{ workflow_id: string; card_no: string }>(
    `select t.workflow_id, t.card_no from bank_top_ups t join parent_bindings b using (card_no)
      where t.status = 'awaiting_reply' and t.guardian_phone = $1 and b.guardian_phone = $1
      order by t.created_at desc limit 20`,
    [phone],
  );
  return rows.map((row) => ({ workflowId: row.workflow_id, cardNo: row.card_no }));
}

export async function isBoundPhone(db: Pool, phone: string): Promise<boolean> {
  const { rows } = await db.query(`select 1 from parent_bindings where guardian_phone = $1 limit 1`, [phone]);
  return rows.length > 0;
}
