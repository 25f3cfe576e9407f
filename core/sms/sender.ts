import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Pool } from '../db/pool.ts';
import type { OutgoingSms, SentSms, SmsSender } from './port.ts';

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  /** The sending number (E.164) or a Messaging Service SID (MG…). */
  from: string;
  /** Where Twilio posts delivery statuses (our /api/sms/status); none means no status callbacks. */
  statusCallbackUrl?: string;
  /**
   * Send the SDK's requests to this base URL instead of https://api.twilio.com: the local
   * Twilio-compatible double in tests. The SDK's own request path (auth, form encoding) is kept.
   */
  apiBaseUrl?: string;
}

/** The number the outbox says messages come from when no Twilio number is configured. */
export const outboxFromNumber = '+10000000000';

/** Twilio-shaped SIDs for messages that never went through Twilio (the outbox). */
export function newMessageSid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

async function findSent(db: Pool, idempotencyKey: string): Promise<SentSms | undefined> {
  const { rows } = await db.query<{ sid: string; status: string }>(
    `select sid, status from sms_messages where idempotency_key = $1`,
    [idempotencyKey],
  );
  return rows[0] ? { sid: rows[0].sid, status: rows[0].status, replayed: true } : undefined;
}

async function record(
  db: Pool,
  mode: SmsSender['mode'],
  from: string,
  message: OutgoingSms,
  sid: string,
  status: string,
): Promise<void> {
  const body = mode === 'outbox' ? message.body : (message.loggedBody ?? message.body);
  await db.query(
    `insert into sms_messages (direction, sid, idempotency_key, mode, from_phone, to_phone, body, template, workflow_id, status)
     values ('outbound', $1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (idempotency_key) do nothing`,
    [
      sid,
      message.idempotencyKey,
      mode,
      from,
      message.to,
      body,
      message.template ?? null,
      message.workflowId ?? null,
      status,
    ],
  );
}

/**
 * Twilio through the real SDK. Twilio's Messages API takes no idempotency key, so ours is kept here: a key
 * already sent is answered from the table. A crash between Twilio's answer and our insert can send one
 * message twice on the retry (at least once); it can never move money.
 */
export function createTwilioSender(db: Pool, settings: TwilioSettings): SmsSender {
  const httpClient = settings.apiBaseUrl ? redirectingRequestClient(settings.apiBaseUrl) : undefined;
  const client = twilio(settings.accountSid, settings.authToken, { httpClient, autoRetry: false });
  const fromField = settings.from.startsWith('MG')
    ? { messagingServiceSid: settings.from }
    : { from: settings.from };
  return {
    mode: 'twilio',
    from: settings.from,
    async send(message) {
      const sent = await findSent(db, message.idempotencyKey);
      if (sent) return sent;
      const created = await client.messages.create({
        to: message.to,
        body: message.body,
        ...fromField,
        ...(settings.statusCallbackUrl ? { statusCallback: settings.statusCallbackUrl } : {}),
      });
      await record(db, 'twilio', settings.from, message, created.sid, created.status);
      return { ...(await findSent(db, message.idempotencyKey))!, replayed: false };
    },
  };
}

/** The default: every message is kept in PostgreSQL, where the console shows it and a person can reply. */
export function createOutboxSender(db: Pool, from = outboxFromNumber): SmsSender {
  return {
    mode: 'outbox',
    from,
    async send(message) {
      const sent = await findSent(db, message.idempotencyKey);
      if (sent) return sent;
      await record(db, 'outbox', from, message, newMessageSid(), 'outbox');
      return { ...(await findSent(db, message.idempotencyKey))!, replayed: false };
    },
  };
}

/** The SDK's own RequestClient, with Twilio's API host swapped for another base URL. */
function redirectingRequestClient(apiBaseUrl: string): RequestClient {
  const base = new URL(apiBaseUrl);
  class RedirectingRequestClient extends twilio.RequestClient {
    override request<TData>(opts: RequestClient.RequestOptions<TData>) {
      const uri = new URL(opts.uri);
      uri.protocol = base.protocol;
      uri.host = base.host;
      return super.request({ ...opts, uri: uri.toString() });
    }
  }
  return new RedirectingRequestClient({ timeout: 10_000 });
}
