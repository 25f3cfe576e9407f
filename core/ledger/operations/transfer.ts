import { credit, debit } from '../book.ts';
import { businessDate } from '../calendar.ts';
import { refusal, type LedgerCommand } from '../command.ts';
import { fenToJson, type Fen } from '../money.ts';
import { findCard } from '../store/lookups.ts';
import type { SpendableWallet } from '../subjects.ts';
import { refuseCardForCredit, refuseCardForDebit } from './cards.ts';

export interface WalletRef {
  cardNo: string;
  wallet: SpendableWallet;
}

export interface Transfer {
  requestKey: string;
  from: WalletRef;
  to: WalletRef;
  amountFen: Fen;
  operatorId: string;
  at: Date;
}

/** Wallet to wallet (转账): between a holder's own wallets or to another holder's. */
export function transferCommand(input: Transfer): LedgerCommand {
  const { requestKey, from, to, amountFen, operatorId } = input;
  return {
    requestKey,
    kind: 'transfer',
    content: { from, to, amountFen, operatorId },
    amountFen,
    async prepare(client) {
      const today = businessDate(input.at);
      const [source, target] = [await findCard(client, from.cardNo), await findCard(client, to.cardNo)];
      const refusedSource = refuseCardForDebit(source, today);
      if (refusedSource) return refusal(refusedSource, `from.cardNo ${from.cardNo}`);
      const refusedTarget = refuseCardForCredit(target);
      if (refusedTarget) return refusal(refusedTarget, `to.cardNo ${to.cardNo}`);
      const fromAccount = source!.wallets[from.wallet]!;
      const toAccount = target!.wallets[to.wallet]!;
      if (fromAccount === toAccount) return refusal('transfer_to_same_wallet');
      const lines = [debit(fromAccount, amountFen), credit(toAccount, amountFen)];
      return {
        accountIds: [fromAccount, toAccount],
        decide: (book) =>
          book.fits(lines)
            ? {
                outcome: 'ok',
                transactions: [
                  {
                    kind: 'transfer',
                    amountFen,
                    cardNo: from.cardNo,
                    businessDate: today,
                    detail: { from, to, operatorId },
                    lines,
                    event: {
                      topic: 'ledger.transfer',
                      aggregateKey: from.cardNo,
                      payload: { from, to, amountFen: fenToJson(amountFen) },
                    },
                  },
                ],
                response: (after) => ({
                  amountFen: fenToJson(amountFen),
                  fromBalanceFenAfter: fenToJson(after.balance(fromAccount)),
                  toBalanceFenAfter: fenToJson(after.balance(toAccount)),
                }),
              }
            : refusal('insufficient_balance', `${from.cardNo} ${from.wallet}`),
      };
    },
  };
}
