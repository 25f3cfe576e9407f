import type { Fen } from '../money.ts';
import type { RefusalCode } from '../outcomes.ts';
import type { TacVerifier } from './tac.ts';

export interface OfflineRecord {
  terminalSeq: number;
  cardNo: string;
  cardCounter: number;
  balanceFenBefore: Fen;
  amountFen: Fen;
  balanceFenAfter: Fen;
  at: string;
  tac: string;
}

export interface PurseMirror {
  balanceFen: Fen;
  counter: number;
}

export type PurseFinding =
  | { kind: 'counter_gap'; detail: { expectedCounter: number; counter: number } }
  | { kind: 'balance_mismatch'; detail: { mirrorBalanceFen: string; cardBalanceFenBefore: string } };

/**
 * Checks one offline record against the card purse mirror. Refusals (the record cannot be booked): a
 * counter already used, before − amount ≠ after, a TAC that does not verify. Findings (booked, but
 * reported as 卡库不平): a counter gap, a balance before that is not the mirror's last balance.
 */
export function checkOfflineRecord(
  record: OfflineRecord,
  terminalId: string,
  mirror: PurseMirror | undefined,
  counterUsed: boolean,
  verifyTac: TacVerifier,
): { refusal: RefusalCode } | { findings: PurseFinding[] } {
  if (counterUsed) return { refusal: 'purse_counter_is_duplicated' };
  if (record.balanceFenBefore - record.amountFen !== record.balanceFenAfter)
    return { refusal: 'purse_record_is_inconsistent' };
  const tacFields = {
    cardNo: record.cardNo,
    cardCounter: record.cardCounter,
    amountFen: record.amountFen,
    balanceFenAfter: record.balanceFenAfter,
    terminalId,
    terminalSeq: record.terminalSeq,
    at: record.at,
  };
  if (!verifyTac(tacFields, record.tac)) return { refusal: 'purse_tac_is_invalid' };
  const findings: PurseFinding[] = [];
  if (mirror && record.cardCounter > mirror.counter + 1) {
    findings.push({
      kind: 'counter_gap',
      detail: { expectedCounter: mirror.counter + 1, counter: record.cardCounter },
    });
  }
  if (mirror && record.cardCounter === mirror.counter + 1 && record.balanceFenBefore !== mirror.balanceFen) {
    findings.push({
      kind: 'balance_mismatch',
      detail: {
        mirrorBalanceFen: String(mirror.balanceFen),
        cardBalanceFenBefore: String(record.balanceFenBefore),
      },
    });
  }
  return { findings };
}
