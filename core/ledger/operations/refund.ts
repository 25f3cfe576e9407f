import { credit, debit, type PostingLine } from '../book.ts';
import { businessDate } from '../calendar.ts';
import { refusal, type LedgerCommand } from '../command.ts';
import { fenToJson, minFen, type Fen } from '../money.ts';
import { findTransaction, giveBackDailySpend, lockCard } from '../store/lookups.ts';
import type { Client } from '../store/unit-of-work.ts';

export interface Refund {
  requestKey: string;
  transactionId: bigint;
  amountFen: Fen;
  reason: string;
  operatorId: string;
  at: Date;
}

async function refundedByAccount(client: Client, transactionId: bigint): Promise<Map<bigint, Fen>> {
  const { rows } = await client.query<{ account_id: bigint; refunded_fen: bigint }>(
    `select p.account_id, (-sum(p.amount_fen))::bigint as refunded_fen
       from ledger_transactions r join ledger_postings p on p.transaction_id = r.transaction_id
      where r.original_transaction_id = $1 and r.kind = 'refund' and p.amount_fen < 0
        and not exists (select 1 from ledger_transactions x where x.original_transaction_id = r.transaction_id and x.kind = 'reversal')
      group by p.account_id`,
    [transactionId.toString()],
  );
  return new Map(rows.map((row) => [row.account_id, row.refunded_fen]));
}

/**
 * A merchant gives back all or part of a purchase (退款): the money goes back from its payable to the
 * accounts the purchase took it from, the last-taken first, never more than each gave.
 */
export function refundCommand(input: Refund): LedgerCommand {
  const { requestKey, transactionId, amountFen, reason, operatorId } = input;
  return {
    requestKey,
    kind: 'refund',
    content: { transactionId, amountFen, reason, operatorId },
    amountFen,
    async prepare(client) {
      const original = await findTransaction(client, transactionId, true);
      if (!original) return refusal('transaction_not_found', `transactionId ${transactionId}`);
      if (original.kind !== 'purchase' && original.kind !== 'offline_purchase')
        return refusal('transaction_is_not_refundable', original.kind);
      if (original.reversedBy !== null) return refusal('transaction_already_reversed');
      if (original.refundedFen + amountFen > original.amountFen) {
        return refusal(
          'refund_exceeds_purchase',
          `${original.refundedFen} of ${original.amountFen} fen already refunded`,
        );
      }
      const payable = original.postings.find((p) => p.amountFen < 0)!;
      const refunded = await refundedByAccount(client, transactionId);
      const lines: PostingLine[] = [debit(payable.accountId, amountFen)];
      let remaining = amountFen;
      for (const taken of [...original.postings].filter((p) => p.amountFen > 0).reverse()) {
        const room = taken.amountFen - (refunded.get(taken.accountId) ?? 0n);
        const back = minFen(room, remaining);
        if (back <= 0n) continue;
        lines.push(credit(taken.accountId, back));
        remaining -= back;
      }
      if (remaining !== 0n) return refusal('refund_exceeds_purchase');
      const givesBackSpend = original.kind === 'purchase' && original.cardNo !== null;
      if (givesBackSpend) await lockCard(client, original.cardNo!);
      return {
        accountIds: lines.map((line) => line.accountId),
        decide: (book) =>
          book.fits(lines)
            ? {
                outcome: 'ok',
                transactions: [
                  {
                    kind: 'refund',
                    amountFen,
                    originalTransactionId: transactionId,
                    cardNo: original.cardNo ?? undefined,
                    merchantId: original.merchantId ?? undefined,
                    businessDate: businessDate(input.at),
                    detail: { reason, operatorId },
                    lines,
                    event: {
                      topic: 'ledger.refund',
                      aggregateKey: original.cardNo ?? String(transactionId),
                      payload: {
                        originalTransactionId: String(transactionId),
                        amountFen: fenToJson(amountFen),
                        cardNo: original.cardNo,
                      },
                    },
                  },
                ],
                response: () => ({
                  originalTransactionId: Number(transactionId),
                  amountFen: fenToJson(amountFen),
                  refundedFenTotal: fenToJson(original.refundedFen + amountFen),
                }),
                after: givesBackSpend
                  ? (c) => giveBackDailySpend(c, original.cardNo!, original.businessDate, amountFen)
                  : undefined,
              }
            : refusal('insufficient_balance', 'the merchant payable is smaller than the refund'),
      };
    },
  };
}
