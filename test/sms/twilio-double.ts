import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signTwilioRequest } from '../../core/sms/signature.ts';

/**
 * A local Twilio-compatible HTTP server for tests: the real `twilio` SDK sends to it (core/sms/sender.ts
 * swaps the API host), and it calls our webhooks as Twilio does, form posts signed with
 * `X-Twilio-Signature` by the real algorithm. What it speaks:
 *
 *   POST /2010-04-01/Accounts/{AccountSid}/Messages.json   (Basic auth: AccountSid:AuthToken)
 *     To, From | MessagingServiceSid, Body, StatusCallback → 201 with Twilio's message resource, then
 *     `sent` and `delivered` status callbacks; Twilio's error bodies for a bad To (21211) or bad auth (20003)
 *   reply(): an inbound message from a parent's phone to the inbound webhook
 */
export interface SentMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback?: string;
}

export interface TwilioDouble {
  url: string;
  accountSid: string;
  authToken: string;
  sent: SentMessage[];
  /** Resolves with the first sent message that matches (waiting for it up to timeoutMs). */
  waitForMessage(match: (message: SentMessage) => boolean, timeoutMs?: number): Promise<SentMessage>;
  /** From now on, messages to this number are refused as Twilio refuses an opted-out one (21610). */
  refuse(phone: string): void;
  /** Posts an inbound SMS to the webhook; `forgedWith` signs it with another token. */
  reply(options: {
    from: string;
    body: string;
    messageSid?: string;
    forgedWith?: string;
  }): Promise<{ status: number; messageSid: string; text: string }>;
  close(): Promise<void>;
}

export const newSid = () => `SM${randomBytes(16).toString('hex')}`;

export async function startTwilioDouble(options: {
  inboundUrl: string;
  ourNumber: string;
}): Promise<TwilioDouble> {
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const sent: SentMessage[] = [];
  const refused = new Set<string>();
  const waiters = new Set<() => void>();
  const callbacks = new Set<Promise<unknown>>();

  const signedPost = async (url: string, params: Record<string, string>, token = authToken) => {
    const answer = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signTwilioRequest(token, url, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    return { status: answer.status, text: await answer.text() };
  };

  const sendStatuses = (message: SentMessage) => {
    if (!message.statusCallback) return;
    const delivery = (async () => {
      for (const status of ['sent', 'delivered']) {
        await signedPost(message.statusCallback!, {
          AccountSid: accountSid,
          MessageSid: message.sid,
          SmsSid: message.sid,
          MessageStatus: status,
          SmsStatus: status,
          From: message.from,
          To: message.to,
          ApiVersion: '2010-04-01',
        }).catch(() => undefined);
      }
    })();
    callbacks.add(delivery);
    void delivery.finally(() => callbacks.delete(delivery));
  };

  const twilioError = (res: http.ServerResponse, status: number, code: number, message: string) =>
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(
        JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
      );

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/2010-04-01\/Accounts\/([A-Za-z0-9]+)\/Messages\.json$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match)
        return twilioError(res, 404, 20404, 'The requested resource was not found');
      const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
      if (req.headers.authorization !== expected || match[1] !== accountSid)
        return twilioError(res, 401, 20003, 'Authenticate');
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      if (!/^\+[1-9][0-9]{6,14}$/.test(form.To ?? ''))
        return twilioError(res, 400, 21211, `The 'To' number ${form.To ?? ''} is not a valid phone number.`);
      if (!form.Body) return twilioError(res, 400, 21602, 'Message body is required.');
      if (refused.has(form.To!))
        return twilioError(res, 400, 21610, 'Attempt to send to unsubscribed recipient');
      const message: SentMessage = {
        sid: newSid(),
        to: form.To!,
        from: form.From ?? options.ourNumber,
        body: form.Body,
        statusCallback: form.StatusCallback,
      };
      sent.push(message);
      for (const wake of waiters) wake();
      const now = new Date().toUTCString();
      res.writeHead(201, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          sid: message.sid,
          account_sid: accountSid,
          to: message.to,
          from: message.from,
          body: message.body,
          status: 'queued',
          direction: 'outbound-api',
          num_segments: '1',
          num_media: '0',
          api_version: '2010-04-01',
          date_created: now,
          date_updated: now,
          date_sent: null,
          price: null,
          price_unit: 'USD',
          error_code: null,
          error_message: null,
          messaging_service_sid: form.MessagingServiceSid ?? null,
          uri: `/2010-04-01/Accounts/${accountSid}/Messages/${message.sid}.json`,
          subresource_uris: {
            media: `/2010-04-01/Accounts/${accountSid}/Messages/${message.sid}/Media.json`,
          },
        }),
      );
      sendStatuses(message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    sent,
    refuse: (phone) => refused.add(phone),
    waitForMessage(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = sent.find(match);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching SMS within ${timeoutMs} ms; sent: ${JSON.stringify(sent.map((m) => m.body))}`,
            ),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async reply({ from, body, messageSid = newSid(), forgedWith }) {
      const answer = await signedPost(
        options.inboundUrl,
        {
          AccountSid: accountSid,
          MessageSid: messageSid,
          SmsMessageSid: messageSid,
          SmsSid: messageSid,
          From: from,
          To: options.ourNumber,
          Body: body,
          NumMedia: '0',
          NumSegments: '1',
          ApiVersion: '2010-04-01',
        },
        forgedWith ?? authToken,
      );
      return { ...answer, messageSid };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...callbacks]);
    },
  };
}
