import { createHash } from 'node:crypto';
import type { RefusalCode } from './outcomes.ts';

/** What the ledger stored for a request key: how to recognise the request, and the answer it got. */
export interface StoredRequest {
  requestKey: string;
  fingerprint: string;
  amountFen: bigint | null;
  outcome: string;
  response: unknown;
}

/** A stable digest of a command's content: JSON with sorted keys, bigints as decimal strings. */
export function fingerprint(content: unknown): string {
  return createHash('sha256').update(canonicalJson(content)).digest('base64url').slice(0, 32);
}

export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A repeat of a stored request: the same content gets the first answer back; other content under the
 * same key is refused, naming the amount when that is what differs.
 */
export function compareWithStored(
  stored: StoredRequest,
  request: { fingerprint: string; amountFen: bigint | null },
): { repeat: true } | { repeat: false; refusal: RefusalCode } {
  if (stored.fingerprint === request.fingerprint) return { repeat: true };
  if (stored.amountFen !== request.amountFen)
    return { repeat: false, refusal: 'exists_with_different_amount' };
  return { repeat: false, refusal: 'exists_with_different_content' };
}
