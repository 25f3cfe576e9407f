import { credit, debit, type Book, type PostingLine } from '../book.ts';
import { businessDate, mealPeriodAt } from '../calendar.ts';
import type { Fen } from '../money.ts';
import { refusalMessages, type RefusalCode } from '../outcomes.ts';
import type { SpendableWallet } from '../subjects.ts';
import { splitAcrossWallets } from '../wallet-split.ts';
import { resolveAmount } from './amount.ts';
import type { CardState, PurchaseCommand, TerminalState } from './types.ts';

export interface PurchaseDecisionInput {
  command: PurchaseCommand;
  terminal: TerminalState | undefined;
  card: CardState | undefined;
  book: Book;
  /** null when no PIN came with the request; otherwise whether it matched the card's. */
  pinMatches: boolean | null;
  menuPriceFen: (itemCode: string) => Fen | undefined;
}

export type PurchaseDecision =
  | {
      outcome: 'ok';
      amountFen: Fen;
      mealPeriod: string | null;
      businessDate: string;
      lines: PostingLine[];
      walletParts: Array<{ wallet: SpendableWallet; accountId: bigint; amountFen: Fen }>;
    }
  | { outcome: RefusalCode; message: string };

const refused = (code: RefusalCode, detail?: string): PurchaseDecision => ({
  outcome: code,
  message: detail ? `${refusalMessages[code]}: ${detail}` : refusalMessages[code],
});

/**
 * One canteen purchase, decided against the locked state: the first refusal in precedence order, or the
 * postings that take the amount from the wallets (in the category's order) to the merchant's payable.
 * Pure: it reads the book and the card, and changes nothing; apply() does that.
 */
export function decidePurchase(input: PurchaseDecisionInput): PurchaseDecision {
  const { command, terminal, card, book } = input;
  if (!terminal) return refused('terminal_not_found', `terminalId ${command.terminalId}`);
  if (terminal.status !== 'active') return refused('terminal_is_disabled', command.terminalId);
  if (terminal.payableAccountId === null)
    return refused('terminal_takes_no_payments', `${command.terminalId} is a ${terminal.kind}`);
  if (!card) return refused('card_not_found', `cardNo ${command.cardNo}`);
  if (card.status === 'cancelled') return refused('card_is_cancelled');
  if (card.status === 'blacklisted') return refused('card_is_blacklisted');
  if (card.status === 'frozen') return refused('card_is_frozen');
  const today = businessDate(command.at);
  if (card.expiresOn < today) return refused('card_has_expired', `expired after ${card.expiresOn}`);
  if (card.barredTerminalIds.has(terminal.terminalId)) return refused('card_is_barred_at_terminal');

  const priced = resolveAmount(command.deduction, terminal, input.menuPriceFen);
  if ('refusal' in priced) return refused(priced.refusal, priced.detail);
  const { amountFen } = priced;

  if (input.pinMatches === false) return refused('pin_is_wrong');
  const spentToday = card.spentOn === today ? card.spentFen : 0n;
  const overPerTx = card.perTxLimitFen !== null && amountFen > card.perTxLimitFen;
  const overDaily = card.dailyLimitFen !== null && spentToday + amountFen > card.dailyLimitFen;
  if ((overPerTx || overDaily) && input.pinMatches !== true) {
    return refused(
      'pin_required',
      overPerTx
        ? `above the per-transaction limit of ${card.perTxLimitFen} fen`
        : `above the daily limit of ${card.dailyLimitFen} fen`,
    );
  }
  if (card.dailyMaxFen !== null && spentToday + amountFen > card.dailyMaxFen) {
    return refused('daily_limit_exceeded', `${spentToday} of ${card.dailyMaxFen} fen spent today`);
  }

  const parts = splitAcrossWallets(amountFen, card.walletOrder, (wallet) => {
    const accountId = card.walletAccountIds[wallet];
    return accountId === undefined ? 0n : book.available(accountId);
  });
  if (!parts) return refused('insufficient_balance');
  const walletParts = parts.map((part) => ({ ...part, accountId: card.walletAccountIds[part.wallet]! }));
  const lines = [
    ...walletParts.map((part) => debit(part.accountId, part.amountFen)),
    credit(terminal.payableAccountId, amountFen),
  ];
  return {
    outcome: 'ok',
    amountFen,
    mealPeriod: mealPeriodAt(terminal.mealPeriods, command.at),
    businessDate: today,
    lines,
    walletParts,
  };
}

/** Records a decided purchase on the card's daily spending, so the next purchase in the batch sees it. */
export function addToDailySpend(card: CardState, day: string, amountFen: Fen): void {
  card.spentFen = (card.spentOn === day ? card.spentFen : 0n) + amountFen;
  card.spentOn = day;
}
