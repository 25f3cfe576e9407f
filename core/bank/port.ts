/**
 * The bank gateway (网银接口) as the platform sees it: debit a parent's bound bank card, refund a debit.
 * One adapter (http-gateway.ts) talks to the bank's HTTP API; locally that is the bank simulator.
 *
 * Every call carries an idempotency key (workflow id + activity id): a retry after a lost answer gets the
 * bank's first answer and moves no money twice. A refusal by the bank is an answer (`declined`); a bank
 * that does not answer, or answers 5xx, throws BankUnavailableError, and the caller tries again later.
 */
export interface BankGateway {
  /** `signal` aborts the call (an activity cancelled by a stopping worker). */
  debit(request: DebitRequest, signal?: AbortSignal): Promise<DebitResult>;
  refund(request: RefundRequest, signal?: AbortSignal): Promise<RefundResult>;
  /** The bank's statement: every debit since a time, with what was refunded of it (for 圈存对账). */
  statement(since: Date): Promise<StatementLine[]>;
}

export interface StatementLine {
  debitId: string;
  reference: string;
  amountFen: number;
  refundedFen: number;
  createdAt: string;
}

export interface DebitRequest {
  idempotencyKey: string;
  cardToken: string;
  amountFen: number;
  /** Our reference the bank quotes back (the top-up's workflow id). */
  reference: string;
}

export type DebitResult =
  | { outcome: 'succeeded'; debitId: string; amountFen: number; replayed: boolean }
  | { outcome: 'declined'; code: string; message: string };

export interface RefundRequest {
  idempotencyKey: string;
  debitId: string;
  amountFen: number;
  reason: string;
}

export type RefundResult =
  | { outcome: 'succeeded'; refundId: string; amountFen: number; replayed: boolean }
  | { outcome: 'declined'; code: string; message: string };

/** The bank did not answer in time, or answered with a fault: try again with the same key. */
export class BankUnavailableError extends Error {
  override name = 'BankUnavailableError';
}

/** The bank says our request is wrong (a reused key, a malformed body): retrying cannot help. */
export class BankProtocolError extends Error {
  override name = 'BankProtocolError';
}
