import { createHmac, timingSafeEqual } from 'node:crypto';

/** How old a signed bank event may be: older ones are refused as replays. */
export const callbackToleranceS = 300;

/**
 * Checks `X-Bank-Signature: t=<unix s>,v1=<hex>` where v1 = HMAC-SHA256(secret, `${t}.${rawBody}`), and
 * that t is within the tolerance of now. Returns why it fails, or undefined when it verifies.
 */
export function verifyBankSignature(
  secret: string,
  header: string | undefined,
  rawBody: string,
  nowS = Math.floor(Date.now() / 1000),
): string | undefined {
  const parts = Object.fromEntries(
    (header ?? '').split(',').map((part) => part.trim().split('=', 2) as [string, string]),
  );
  const t = Number(parts.t);
  if (!Number.isSafeInteger(t) || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return 'signature_missing';
  if (Math.abs(nowS - t) > callbackToleranceS) return 'signature_expired';
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(parts.v1!, 'hex')) ? undefined : 'signature_invalid';
}
