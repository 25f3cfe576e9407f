import { createHmac, timingSafeEqual } from 'node:crypto';

/** The fields of an offline record its TAC (交易认证码) covers. */
export interface TacFields {
  cardNo: string;
  cardCounter: number;
  amountFen: bigint;
  balanceFenAfter: bigint;
  terminalId: string;
  terminalSeq: number;
  at: string;
}

/** Checks a record's TAC. */
export type TacVerifier = (fields: TacFields, tac: string) => boolean;

/**
 * THE place the real TAC check goes (issue 4, core/keys): replace the body of this one function with
 * the PSAM's SM4/3DES MAC under the key diversified per card, and nothing else in the ledger changes.
 * Until then it is a stand-in: HMAC-SHA256 under one development key, truncated to 8 hex digits like a
 * real TAC, so the forgery path (a record whose TAC does not verify) is exercised end to end.
 */
export function verifyRecordTac(fields: TacFields, tac: string): boolean {
  const expected = Buffer.from(placeholderTac(fields), 'hex');
  const actual = Buffer.from(tac, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The stand-in's TAC for a record (tests and simulators sign their records with it); goes with it. */
export function placeholderTac(fields: TacFields): string {
  const input = [
    fields.cardNo,
    fields.cardCounter,
    fields.amountFen,
    fields.balanceFenAfter,
    fields.terminalId,
    fields.terminalSeq,
    fields.at,
  ].join('|');
  return createHmac('sha256', placeholderKey).update(input).digest('hex').slice(0, 8).toUpperCase();
}

const placeholderKey = Buffer.from(
  process.env.LEDGER_TAC_KEY_HEX ?? '6f6e65636172642d6465762d7461632d6b6579',
  'hex',
);
