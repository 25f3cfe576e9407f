import { maxAmountFen, type Fen } from '../money.ts';
import type { RefusalCode } from '../outcomes.ts';
import type { Deduction, TerminalState } from './types.ts';

/** The amount a deduction mode comes to at this terminal, or why it cannot be priced. */
export function resolveAmount(
  deduction: Deduction,
  terminal: TerminalState,
  menuPriceFen: (itemCode: string) => Fen | undefined,
): { amountFen: Fen } | { refusal: RefusalCode; detail: string } {
  let amountFen: Fen;
  switch (deduction.mode) {
    case 'amount':
      amountFen = deduction.amountFen;
      break;
    case 'fixed':
      if (terminal.fixedAmountFen === null)
        return { refusal: 'deduction_mode_not_configured', detail: 'no fixed amount' };
      amountFen = terminal.fixedAmountFen;
      break;
    case 'portions':
      if (terminal.portionPriceFen === null)
        return { refusal: 'deduction_mode_not_configured', detail: 'no portion price' };
      amountFen = terminal.portionPriceFen * BigInt(deduction.portions);
      break;
    case 'menu': {
      amountFen = 0n;
      for (const line of deduction.lines) {
        const price = menuPriceFen(line.itemCode);
        if (price === undefined) return { refusal: 'menu_item_not_found', detail: line.itemCode };
        amountFen += price * BigInt(line.quantity);
      }
      break;
    }
  }
  if (amountFen > maxAmountFen) return { refusal: 'amount_exceeds_maximum', detail: `${amountFen} fen` };
  return { amountFen };
}
