import { randomBytes } from 'node:crypto';
import type { PlatformConfig } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import type { SmsSender } from './port.ts';
import { createOutboxSender, createTwilioSender } from './sender.ts';

export const smsPaths = { inbound: '/api/sms/inbound', status: '/api/sms/status' } as const;

/** Twilio when TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are all set; else the outbox. */
export function smsSenderFromConfig(db: Pool, config: PlatformConfig): SmsSender {
  const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, TWILIO_FROM: from } = config;
  if (!accountSid || !authToken || !from) return createOutboxSender(db);
  return createTwilioSender(db, {
    accountSid,
    authToken,
    from,
    statusCallbackUrl: config.PUBLIC_BASE_URL
      ? new URL(smsPaths.status, config.PUBLIC_BASE_URL).toString()
      : undefined,
  });
}

/**
 * The token webhook signatures are checked with: Twilio's auth token, or in outbox mode one made for this
 * process (only this API signs outbox replies, through the same webhook path, so no one else needs it).
 */
export function webhookSigningToken(config: PlatformConfig): { token: string; mode: 'twilio' | 'outbox' } {
  if (config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN && config.TWILIO_FROM)
    return { token: config.TWILIO_AUTH_TOKEN, mode: 'twilio' };
  return { token: randomBytes(24).toString('hex'), mode: 'outbox' };
}
