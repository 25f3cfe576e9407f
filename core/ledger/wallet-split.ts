import type { Fen } from './money.ts';
import type { SpendableWallet } from './subjects.ts';

export interface WalletPart {
  wallet: SpendableWallet;
  amountFen: Fen;
}

/**
 * Takes an amount from the wallets in the card category's spending order (by default the subsidy wallet
 * first, so subsidies are used before they expire), each only down to what it has available. Null when
 * all of them together do not have enough.
 */
export function splitAcrossWallets(
  amountFen: Fen,
  order: readonly SpendableWallet[],
  available: (wallet: SpendableWallet) => Fen,
): WalletPart[] | null {
  const parts: WalletPart[] = [];
  let remaining = amountFen;
  for (const wallet of order) {
    if (remaining === 0n) break;
    const has = available(wallet);
    if (has <= 0n) continue;
    const take = has < remaining ? has : remaining;
    parts.push({ wallet, amountFen: take });
    remaining -= take;
  }
  return remaining === 0n ? parts : null;
}
