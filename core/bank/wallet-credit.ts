import type { Pool } from '../db/pool.ts';
import { runCommand } from '../ledger/command.ts';
import { topUpCommand } from '../ledger/operations/top-up.ts';
import { withLedgerTransaction } from '../ledger/store/unit-of-work.ts';

/** The ledger request key of a bank top-up's wallet credit: one per workflow. */
export const creditRequestKey = (workflowId: string) => `bank-top-up:${workflowId}`;

export type WalletCredit =
  | { outcome: 'ok'; transactionId: string; balanceFenAfter: number; replayed: boolean }
  | { outcome: string; message: string };

/**
 * Credits the student's main wallet with money the bank has paid in: the money core's top-up with method
 * `bank` (debit the school's bank clearing account 1002, credit the main wallet), under the workflow's
 * request key, so a retry returns the first answer and posts nothing twice.
 */
export async function creditWalletFromBank(
  db: Pool,
  input: { workflowId: string; cardNo: string; amountFen: number; at: Date },
): Promise<WalletCredit> {
  const answer = await runCommand(
    db,
    topUpCommand({
      requestKey: creditRequestKey(input.workflowId),
      cardNo: input.cardNo,
      amountFen: BigInt(input.amountFen),
      method: 'bank',
      operatorId: 'bank-top-up',
      at: input.at,
    }),
  );
  const response = answer.response as Record<string, unknown>;
  if (response.outcome !== 'ok')
    return { outcome: String(response.outcome), message: String(response.message ?? response.outcome) };
  return {
    outcome: 'ok',
    transactionId: String(response.transactionId),
    balanceFenAfter: Number(response.balanceFenAfter),
    replayed: answer.replayed,
  };
}

/**
 * Before the bank debit is refunded, the credit's request key is closed: a void answer is stored under it,
 * so a credit attempt still in flight somewhere (a worker that lost its lease) is refused by the ledger
 * instead of crediting money the bank is giving back. Returns whether the credit had already happened,
 * in which case there must be no refund.
 */
export async function closeCreditKey(
  db: Pool,
  input: { workflowId: string; amountFen: number },
): Promise<{ credited: boolean; transactionId?: string }> {
  const key = creditRequestKey(input.workflowId);
  return withLedgerTransaction(db, async (client) => {
    await client.query(
      `insert into ledger_requests (request_key, kind, fingerprint, amount_fen, outcome, response)
       values ($1, 'top_up_void', 'void', $2, 'voided', $3) on conflict (request_key) do nothing`,
      [
        key,
        input.amountFen,
        JSON.stringify({ outcome: 'voided', reason: 'the bank debit is being refunded' }),
      ],
    );
    const { rows } = await client.query<{ kind: string; outcome: string; transaction_id: bigint | null }>(
      `select kind, outcome, transaction_id from ledger_requests where request_key = $1`,
      [key],
    );
    const row = rows[0]!;
    return row.kind === 'top_up' && row.outcome === 'ok'
      ? { credited: true, transactionId: String(row.transaction_id) }
      : { credited: false };
  });
}
