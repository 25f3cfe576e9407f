import type { Client } from '@temporalio/client';
import { startCardProcess } from '../card-process.ts';
import type { BankTopUpInput } from '../../activities/bank-top-up/types.ts';
import { workflowIds, workflowTypes } from '../../workflows/names.ts';
import type { Pool } from '../db/pool.ts';

export const replyWindowMsDefault = 24 * 3_600_000;

/**
 * Starts a bank top-up under its business key. Starting it again, while it runs or after it ended, is a
 * no-op that answers with the same workflow id (`started: false`): a request id is used once.
 */
export async function startBankTopUp(
  client: Client,
  taskQueue: string,
  input: BankTopUpInput,
): Promise<{ workflowId: string; started: boolean }> {
  return startCardProcess(client, {
    workflowType: workflowTypes.bankTopUp,
    workflowId: workflowIds.bankTopUp(input.cardNo, input.requestId),
    taskQueue,
    input,
    reuse: 'REJECT_DUPLICATE',
  });
}

/**
 * The low-balance trigger: cards whose main wallet is below their parent's threshold, active, with no
 * top-up already under way. The request id is the business date, so a card gets one a day at most.
 */
export async function cardsBelowThreshold(
  db: Pool,
  options: { schoolId?: string; limit?: number } = {},
): Promise<Array<{ cardNo: string; schoolId: string; amountFen: number }>> {
  const { rows } = await db.query<{ card_no: string; school_id: string; top_up_amount_fen: bigint }>(
    `select b.card_no, h.school_id, b.top_up_amount_fen
       from parent_bindings b join cards c using (card_no) join cardholders h on h.cardholder_id = c.cardholder_id
       join accounts a on a.cardholder_id = c.cardholder_id and a.wallet_kind = 'main'
      where c.status = 'active' and ($2::text is null or h.school_id = $2) and b.low_balance_threshold_fen is not null and a.balance_fen < b.low_balance_threshold_fen
        and not exists (select 1 from bank_top_ups t where t.card_no = b.card_no
                         and t.status in ('awaiting_reply', 'approved', 'debited', 'credited'))
      order by b.card_no limit $1`,
    [options.limit ?? 500, options.schoolId ?? null],
  );
  return rows.map((row) => ({
    cardNo: row.card_no,
    schoolId: row.school_id,
    amountFen: Number(row.top_up_amount_fen),
  }));
}
