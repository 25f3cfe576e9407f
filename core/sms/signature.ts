import twilio from 'twilio';

/**
 * Twilio's request signature (`X-Twilio-Signature`): HMAC-SHA1 with the account's auth token over the
 * full URL followed by each POST parameter name and value in name order, base64. Both directions use
 * the SDK's own functions, so our signing (outbox mode, the test double) and checking match Twilio's.
 */
export function signTwilioRequest(authToken: string, url: string, params: Record<string, string>): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}

export function isValidTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, string>,
): boolean {
  if (!signature) return false;
  return twilio.validateRequest(authToken, signature, url, params);
}
