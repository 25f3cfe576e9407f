import type { RefusalCode } from '../outcomes.ts';
import type { CardRef } from '../store/lookups.ts';

/** The refusal a card gets for an operation that puts money in (only a cancelled card refuses). */
export function refuseCardForCredit(card: CardRef | undefined): RefusalCode | undefined {
  if (!card) return 'card_not_found';
  if (card.status === 'cancelled') return 'card_is_cancelled';
  return undefined;
}

/** The refusal a card gets for an operation that takes money out of it. */
export function refuseCardForDebit(card: CardRef | undefined, today: string): RefusalCode | undefined {
  if (!card) return 'card_not_found';
  if (card.status === 'cancelled') return 'card_is_cancelled';
  if (card.status === 'blacklisted') return 'card_is_blacklisted';
  if (card.status === 'frozen') return 'card_is_frozen';
  if (card.expiresOn < today) return 'card_has_expired';
  return undefined;
}
