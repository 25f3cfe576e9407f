import { credit, debit } from '../book.ts';
import { businessDate } from '../calendar.ts';
import { refusal, type LedgerCommand } from '../command.ts';
import { fenToJson, type Fen } from '../money.ts';
import { findCard, findUnitAccount } from '../store/lookups.ts';
import { subjects } from '../subjects.ts';
import { refuseCardForCredit } from './cards.ts';

export interface TopUp {
  requestKey: string;
  cardNo: string;
  amountFen: Fen;
  /** Cash at a cashier (现金充值), or money already received through bank clearing (网银转账). */
  method: 'cash' | 'bank';
  operatorId: string;
  at: Date;
}

/** Money in at a cashier: debit the school's cash (or bank clearing), credit the holder's main wallet. */
export function topUpCommand(input: TopUp): LedgerCommand {
  const { requestKey, cardNo, amountFen, method, operatorId } = input;
  return {
    requestKey,
    kind: 'top_up',
    content: { cardNo, amountFen, method, operatorId },
    amountFen,
    async prepare(client) {
      const card = await findCard(client, cardNo);
      const refused = refuseCardForCredit(card);
      if (refused) return refusal(refused, `cardNo ${cardNo}`);
      const source = await findUnitAccount(
        client,
        card!.unitId,
        method === 'cash' ? subjects.cash : subjects.bankClearing,
      );
      if (source === undefined) return refusal('unit_not_found', card!.unitId);
      const wallet = card!.wallets.main!;
      return {
        accountIds: [source, wallet],
        decide: () => ({
          outcome: 'ok',
          transactions: [
            {
              kind: 'top_up',
              amountFen,
              cardNo,
              businessDate: businessDate(input.at),
              detail: { method, operatorId },
              lines: [debit(source, amountFen), credit(wallet, amountFen)],
              event: {
                topic: 'ledger.top_up',
                aggregateKey: cardNo,
                payload: { cardNo, amountFen: fenToJson(amountFen), method },
              },
            },
          ],
          response: (book) => ({
            cardNo,
            amountFen: fenToJson(amountFen),
            balanceFenAfter: fenToJson(book.balance(wallet)),
          }),
        }),
      };
    },
  };
}
