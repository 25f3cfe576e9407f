/**
 * Money is integer fen (分) as bigint. Requests carry fen as JSON integers (checked by the route schema to
 * be safe integers); they become bigint at the boundary and stay bigint through the ledger.
 */
export type Fen = bigint;

/** The largest amount one operation may move: 100,000 yuan. Larger is a typo or an attack. */
export const maxAmountFen = 10_000_000n;
/** The same bound as a number, for JSON schemas. */
export const maxAmountFenNumber = Number(maxAmountFen);

/** Limits on every batch the API accepts. */
export const limits = {
  purchaseBatchMax: 256,
  /** Purchase batches written at once by one API process, each on its own payable lane (see batcher.ts). */
  purchaseBatchesInFlightMax: 2,
  offlineRecordsPerUploadMax: 1_000,
  subsidyCardholdersPerBatchMax: 200_000,
  subsidyChunk: 2_000,
  menuLinesMax: 20,
  portionsMax: 50,
  checkAccountsPageMax: 100_000,
} as const;

export function fen(value: number | bigint): Fen {
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new RangeError(`not an integer fen amount: ${value}`);
  return BigInt(value);
}

export function sumFen(values: Iterable<Fen>): Fen {
  let total = 0n;
  for (const value of values) total += value;
  return total;
}

export function minFen(a: Fen, b: Fen): Fen {
  return a < b ? a : b;
}

/** bigint → JSON number, asserting it is exact (every fen amount in a response is well below 2^53). */
export function fenToJson(value: Fen): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`fen amount beyond JSON's exact integers: ${value}`);
  return n;
}
