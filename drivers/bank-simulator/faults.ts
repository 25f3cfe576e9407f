/**
 * Faults the simulator injects so tests can see how our side copes with a slow or failing bank. A rule
 * comes from the fault schedule (POST /sim/faults) or from one request's `X-Sim-Fault` header.
 *
 * - fail_before: answer `status` (503 by default) and do nothing;
 * - fail_after: do the operation, then answer 500: the answer is lost, the money moved;
 * - delay_before: wait `delayMs`, then do it and answer;
 * - delay_after: do it, then wait `delayMs` before answering (a client that times out retries a done debit).
 */
export type FaultKind = 'fail_before' | 'fail_after' | 'delay_before' | 'delay_after';

export interface FaultRule {
  operation: 'debit' | 'refund' | 'any';
  kind: FaultKind;
  cardToken?: string;
  status?: number;
  delayMs?: number;
  /** How many matching requests it hits (default 1). */
  times?: number;
  /** Matching requests to let through before it starts hitting (default 0). */
  skip?: number;
}

const kinds: readonly FaultKind[] = ['fail_before', 'fail_after', 'delay_before', 'delay_after'];
const delayMsMax = 120_000;

export function parseFaultRule(value: unknown): FaultRule {
  const rule = value as Partial<FaultRule> | null;
  if (typeof rule !== 'object' || rule === null) throw new Error('a fault rule must be an object');
  if (!['debit', 'refund', 'any'].includes(rule.operation as string))
    throw new Error('operation must be debit, refund or any');
  if (!kinds.includes(rule.kind as FaultKind)) throw new Error(`kind must be one of ${kinds.join(', ')}`);
  for (const key of ['status', 'delayMs', 'times', 'skip'] as const) {
    const n = rule[key];
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0))
      throw new Error(`${key} must be an integer ≥ 0`);
  }
  if ((rule.delayMs ?? 0) > delayMsMax) throw new Error(`delayMs must be at most ${delayMsMax}`);
  return rule as FaultRule;
}

/** `X-Sim-Fault: delay_after;ms=3000` or `fail_before;status=503`, for one request. */
export function parseFaultHeader(header: string | undefined): FaultRule | undefined {
  if (!header) return undefined;
  const [kind, ...options] = header.split(';').map((part) => part.trim());
  const rule: Record<string, unknown> = { operation: 'any', kind };
  for (const option of options) {
    const [key, value] = option.split('=');
    if (key === 'ms') rule.delayMs = Number(value);
    else if (key === 'status') rule.status = Number(value);
  }
  return parseFaultRule(rule);
}

/** The schedule: rules in order; the first that matches a request takes it, and counts it. */
export class FaultSchedule {
  private rules: Array<FaultRule & { seen: number; hit: number }> = [];

  replace(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => ({ ...rule, seen: 0, hit: 0 }));
  }

  take(operation: 'debit' | 'refund', cardToken: string | undefined): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.operation !== 'any' && rule.operation !== operation) continue;
      if (rule.cardToken !== undefined && rule.cardToken !== cardToken) continue;
      if (rule.hit >= (rule.times ?? 1)) continue;
      rule.seen++;
      if (rule.seen <= (rule.skip ?? 0)) continue;
      rule.hit++;
      return rule;
    }
    return undefined;
  }

  describe(): Array<FaultRule & { hit: number }> {
    return this.rules.map(({ seen: _seen, ...rule }) => rule);
  }
}
