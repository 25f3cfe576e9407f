/**
 * Assertions for what must never happen (a transaction that does not balance, a wallet below its floor
 * after a decision that allowed it). They stay on in production: a broken invariant stops the write.
 * Expected refusals are outcomes (outcomes.ts), never these.
 */
export class LedgerAssertionError extends Error {
  override name = 'LedgerAssertionError';
}

export function assertLedger(condition: unknown, message: string): asserts condition {
  if (!condition) throw new LedgerAssertionError(`ledger assertion failed: ${message}`);
}
