import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TacFields {
  cardNo: string;
  cardCounter: number;
  amountFen: bigint;
  balanceFenAfter: bigint;
  terminalId: string;
  terminalSeq: number;
  at: string;
}

/** Checks a record's TAC (交易认证码). */
export type TacVerifier = (fields: TacFields, tac: string) => boolean;

function tacInput(fields: TacFields): string {
  return [
    fields.cardNo,
    fields.cardCounter,
    fields.amountFen,
    fields.balanceFenAfter,
    fields.terminalId,
    fields.terminalSeq,
    fields.at,
  ].join('|');
}

/**
 * A stand-in until the key centre (a later issue) supplies the real check: a PSAM's SM4/3DES MAC under a
 * key diversified per card. This one is an HMAC-SHA256 under one key, truncated to 8 hex digits like a
 * real TAC, so the forgery path (a record whose TAC does not verify) is exercised end to end.
 */
export function hmacTacVerifier(key: Buffer): TacVerifier {
  return (fields, tac) => {
    const expected = Buffer.from(computeHmacTac(key, fields), 'hex');
    const actual = Buffer.from(tac, 'hex');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  };
}

export function computeHmacTac(key: Buffer, fields: TacFields): string {
  return createHmac('sha256', key).update(tacInput(fields)).digest('hex').slice(0, 8).toUpperCase();
}

/** The development key of the stand-in verifier; production sets LEDGER_TAC_KEY_HEX until the key centre. */
export const developmentTacKey = Buffer.from(
  process.env.LEDGER_TAC_KEY_HEX ?? '6f6e65636172642d6465762d7461632d6b6579',
  'hex',
);
