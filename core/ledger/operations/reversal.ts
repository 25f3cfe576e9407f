import type { PostingLine } from '../book.ts';
import { businessDate } from '../calendar.ts';
import { refusal, type LedgerCommand } from '../command.ts';
import { fenToJson } from '../money.ts';
import { findTransaction, giveBackDailySpend, lockCard } from '../store/lookups.ts';

export interface Reversal {
  requestKey: string;
  transactionId: bigint;
  reason: string;
  operatorId: string;
  at: Date;
}

/**
 * 冲正 / 冲帐: a new transaction with every posting of the original negated, pointing at it. The original
 * stays as it was. A reversal cannot be reversed, a transaction is reversed at most once (a unique index
 * holds that too), and a purchase with refunds is not reversed while they stand.
 */
export function reversalCommand(input: Reversal): LedgerCommand {
  const { requestKey, transactionId, reason, operatorId } = input;
  return {
    requestKey,
    kind: 'reversal',
    content: { transactionId, reason, operatorId },
    amountFen: null,
    async prepare(client) {
      const original = await findTransaction(client, transactionId, true);
      if (!original) return refusal('transaction_not_found', `transactionId ${transactionId}`);
      if (original.kind === 'reversal') return refusal('transaction_is_a_reversal');
      if (original.reversedBy !== null)
        return refusal('transaction_already_reversed', `by ${original.reversedBy}`);
      if (original.refundedFen > 0n) return refusal('transaction_has_refunds');
      // Undoing an online purchase gives its amount back to the day's spending (the limits count spending).
      const givesBackSpend = original.kind === 'purchase' && original.cardNo !== null;
      if (givesBackSpend) await lockCard(client, original.cardNo!);
      const lines: PostingLine[] = original.postings.map((p) => ({
        accountId: p.accountId,
        amountFen: -p.amountFen,
      }));
      return {
        accountIds: lines.map((line) => line.accountId),
        decide: (book) =>
          book.fits(lines)
            ? {
                outcome: 'ok',
                transactions: [
                  {
                    kind: 'reversal',
                    amountFen: original.amountFen,
                    originalTransactionId: transactionId,
                    cardNo: original.cardNo ?? undefined,
                    merchantId: original.merchantId ?? undefined,
                    businessDate: businessDate(input.at),
                    detail: { reason, operatorId, originalKind: original.kind },
                    lines,
                    event: {
                      topic: 'ledger.reversal',
                      aggregateKey: original.cardNo ?? String(transactionId),
                      payload: {
                        originalTransactionId: String(transactionId),
                        originalKind: original.kind,
                        amountFen: fenToJson(original.amountFen),
                      },
                    },
                  },
                ],
                response: () => ({
                  originalTransactionId: Number(transactionId),
                  amountFen: fenToJson(original.amountFen),
                }),
                after: givesBackSpend
                  ? (c) => giveBackDailySpend(c, original.cardNo!, original.businessDate, original.amountFen)
                  : undefined,
              }
            : refusal('insufficient_balance', 'the money has already been spent'),
      };
    },
  };
}
