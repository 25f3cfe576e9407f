import { randomBytes } from 'node:crypto';

/**
 * The simulated bank's books: bound cards with balances, debits and refunds. Amounts are integer fen.
 * Every answer is kept under its idempotency key, so a repeat gets the first answer and moves nothing.
 */
export interface SimCard {
  cardToken: string;
  balanceFen: number;
  blocked: boolean;
}

export interface Debit {
  debitId: string;
  cardToken: string;
  amountFen: number;
  reference: string;
  refundedFen: number;
  createdAt: string;
}

export interface Refund {
  refundId: string;
  debitId: string;
  amountFen: number;
  reason: string;
  createdAt: string;
}

/** An HTTP answer: status and JSON body. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const declined = (status: number, code: string, message: string): Answer => ({
  status,
  body: { error: { code, message } },
});

export class SimBank {
  readonly cards = new Map<string, SimCard>();
  readonly debits = new Map<string, Debit>();
  readonly refunds = new Map<string, Refund>();
  /** idempotency key → the request's fingerprint and the answer it got. */
  private readonly answers = new Map<string, { fingerprint: string; answer: Answer }>();
  private readonly inProgress = new Set<string>();

  openCard(card: SimCard): void {
    this.cards.set(card.cardToken, { ...card });
  }

  /** Runs an operation once per idempotency key; a repeat with the same body gets the stored answer. */
  async once(
    key: string,
    fingerprint: string,
    run: () => Promise<Answer> | Answer,
  ): Promise<Answer & { replayed: boolean }> {
    const stored = this.answers.get(key);
    if (stored) {
      if (stored.fingerprint !== fingerprint)
        return {
          ...declined(409, 'idempotency_key_reused', 'this Idempotency-Key was used for another request'),
          replayed: false,
        };
      return { ...stored.answer, replayed: true };
    }
    if (this.inProgress.has(key))
      return {
        ...declined(409, 'request_in_progress', 'a request with this Idempotency-Key is still running'),
        replayed: false,
      };
    this.inProgress.add(key);
    try {
      const answer = await run();
      // Only final answers are kept: a 5xx of the bank itself would be retried by the caller.
      if (answer.status < 500) this.answers.set(key, { fingerprint, answer });
      return { ...answer, replayed: false };
    } finally {
      this.inProgress.delete(key);
    }
  }

  debit(input: { cardToken: string; amountFen: number; reference: string }): Answer {
    const card = this.cards.get(input.cardToken);
    if (!card) return declined(404, 'card_unknown', 'no bound card with this token');
    if (card.blocked) return declined(403, 'card_blocked', 'the card is blocked by its bank');
    if (card.balanceFen < input.amountFen)
      return declined(402, 'insufficient_funds', 'the card account has not enough money');
    card.balanceFen -= input.amountFen;
    const debit: Debit = {
      debitId: id('dbt'),
      cardToken: card.cardToken,
      amountFen: input.amountFen,
      reference: input.reference,
      refundedFen: 0,
      createdAt: new Date().toISOString(),
    };
    this.debits.set(debit.debitId, debit);
    return { status: 201, body: { ...debit, status: 'succeeded' } };
  }

  refund(input: { debitId: string; amountFen: number; reason: string }): Answer {
    const debit = this.debits.get(input.debitId);
    if (!debit) return declined(404, 'debit_unknown', 'no such debit');
    if (debit.refundedFen + input.amountFen > debit.amountFen)
      return declined(422, 'refund_exceeds_debit', 'the refunds would exceed the debit');
    debit.refundedFen += input.amountFen;
    this.cards.get(debit.cardToken)!.balanceFen += input.amountFen;
    const refund: Refund = {
      refundId: id('rfd'),
      debitId: debit.debitId,
      amountFen: input.amountFen,
      reason: input.reason,
      createdAt: new Date().toISOString(),
    };
    this.refunds.set(refund.refundId, refund);
    return { status: 201, body: { ...refund, status: 'succeeded' } };
  }
}
