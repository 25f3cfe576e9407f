import { credit, debit } from '../book.ts';
import { businessDate } from '../calendar.ts';
import { refusal, type LedgerCommand } from '../command.ts';
import { fenToJson, type Fen } from '../money.ts';
import { findCard, findUnitAccount } from '../store/lookups.ts';
import { subjects } from '../subjects.ts';
import { refuseCardForCredit } from './cards.ts';

export interface CardDeposit {
  requestKey: string;
  cardNo: string;
  amountFen: Fen;
  /** in: the holder pays the card deposit (押金) in cash; out: it is paid back when the card is returned. */
  direction: 'in' | 'out';
  operatorId: string;
  at: Date;
}

export function cardDepositCommand(input: CardDeposit): LedgerCommand {
  const { requestKey, cardNo, amountFen, direction, operatorId } = input;
  return {
    requestKey,
    kind: `deposit_${direction}`,
    content: { cardNo, amountFen, direction, operatorId },
    amountFen,
    async prepare(client) {
      const card = await findCard(client, cardNo);
      // Paying a deposit back is what happens when a card is cancelled, so only an unknown card refuses it.
      const refused = direction === 'in' ? refuseCardForCredit(card) : card ? undefined : 'card_not_found';
      if (refused) return refusal(refused, `cardNo ${cardNo}`);
      const cash = await findUnitAccount(client, card!.unitId, subjects.cash);
      if (cash === undefined) return refusal('unit_not_found', card!.unitId);
      const held = card!.wallets.deposit!;
      const lines =
        direction === 'in'
          ? [debit(cash, amountFen), credit(held, amountFen)]
          : [debit(held, amountFen), credit(cash, amountFen)];
      return {
        accountIds: [cash, held],
        decide: (book) =>
          book.fits(lines)
            ? {
                outcome: 'ok',
                transactions: [
                  {
                    kind: direction === 'in' ? 'deposit_in' : 'deposit_out',
                    amountFen,
                    cardNo,
                    businessDate: businessDate(input.at),
                    detail: { operatorId },
                    lines,
                    event: {
                      topic: `ledger.deposit_${direction}`,
                      aggregateKey: cardNo,
                      payload: { cardNo, amountFen: fenToJson(amountFen) },
                    },
                  },
                ],
                response: (after) => ({
                  cardNo,
                  amountFen: fenToJson(amountFen),
                  depositFenAfter: fenToJson(after.balance(held)),
                }),
              }
            : refusal('insufficient_balance', 'the card deposit held is smaller'),
      };
    },
  };
}
