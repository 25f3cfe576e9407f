import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import twilio from 'twilio';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { parseTopUpReply } from '../../core/sms/reply.ts';
import { createOutboxSender, createTwilioSender } from '../../core/sms/sender.ts';
import { signTwilioRequest } from '../../core/sms/signature.ts';
import { renderSms, yuan } from '../../core/sms/templates.ts';
import { stackConfig } from '../support/env.ts';
import { startTwilioDouble, type TwilioDouble } from './twilio-double.ts';
import { randomPhone } from '../bank/fixture.ts';

describe('replies and templates', () => {
  test.each([
    ['Y 123456', { kind: 'approve', code: '123456' }],
    ['  y123456 ', { kind: 'approve', code: '123456' }],
    ['Ｙ　１２３４５６', { kind: 'approve', code: '123456' }],
    ['是 654321', { kind: 'approve', code: '654321' }],
    ['N', { kind: 'decline' }],
    ['no', { kind: 'decline' }],
    ['Y', { kind: 'unclear' }],
    ['Y 12345', { kind: 'unclear' }],
    ['Y 1234567', { kind: 'unclear' }],
    ['好的', { kind: 'unclear' }],
    ['', { kind: 'unclear' }],
  ])('%j reads as %j', (text, expected) => {
    expect(parseTopUpReply(text)).toEqual(expected);
  });

  test('amounts are shown in yuan, computed with integers', () => {
    expect([0, 1, 99, 100, 5_000, 123_456, -250].map(yuan)).toEqual([
      '0.00',
      '0.01',
      '0.99',
      '1.00',
      '50.00',
      '1234.56',
      '-2.50',
    ]);
    expect(() => yuan(1.5)).toThrow(RangeError);
    const text = renderSms({
      template: 'top_up_request',
      holderName: '张三',
      amountFen: 5_000,
      code: '042817',
      hours: 24,
      last4: '1234',
    });
    expect(text).toBe(
      '【校园一卡通】张三的一卡通需要充值50.00元，将从您绑定的银行卡(尾号1234)扣款。同意请回复“Y 042817”，拒绝请回复“N”。24小时内未回复将自动取消。',
    );
  });
});

describe('X-Twilio-Signature', () => {
  const url = 'https://school.example.cn/api/sms/inbound';
  const params = { MessageSid: 'SM0123', From: '+8613900000000', Body: 'Y 123456', To: '+15005550006' };

  test('is HMAC-SHA1 over the URL and the sorted parameters, base64, as the SDK checks it', () => {
    const data =
      url +
      Object.keys(params)
        .sort()
        .map((k) => k + params[k as keyof typeof params])
        .join('');
    const byHand = createHmac('sha1', 'token-0123456789').update(data, 'utf8').digest('base64');
    expect(signTwilioRequest('token-0123456789', url, params)).toBe(byHand);
    expect(twilio.validateRequest('token-0123456789', byHand, url, params)).toBe(true);
    expect(twilio.validateRequest('token-0123456789', byHand, url, { ...params, Body: 'N' })).toBe(false);
    expect(twilio.validateRequest('another-token-000', byHand, url, params)).toBe(false);
  });
});

describe('sending through the real SDK and the outbox', () => {
  let db: Pool;
  let double: TwilioDouble;
  beforeAll(async () => {
    db = createPool(stackConfig().DATABASE_URL, { max: 3 });
    double = await startTwilioDouble({ inboundUrl: 'http://127.0.0.1:9/unused', ourNumber: '+15005550006' });
  });
  afterAll(async () => {
    await double?.close();
    await db?.end();
  });

  test('a message goes to Twilio once per idempotency key', async () => {
    const sender = createTwilioSender(db, {
      accountSid: double.accountSid,
      authToken: double.authToken,
      from: '+15005550006',
      apiBaseUrl: double.url,
    });
    const to = randomPhone();
    const message = { idempotencyKey: `test-sms/${to}/1`, to, body: '【校园一卡通】测试' };
    const first = await sender.send(message);
    const again = await sender.send(message);
    expect(first).toMatchObject({ sid: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: 'queued' });
    expect(again).toEqual({ ...first, replayed: true });
    expect(double.sent.filter((m) => m.to === to)).toEqual([
      expect.objectContaining({ sid: first.sid, body: '【校园一卡通】测试', from: '+15005550006' }),
    ]);
  });

  test("Twilio's refusal comes back as the SDK's RestException and records nothing", async () => {
    const sender = createTwilioSender(db, {
      accountSid: double.accountSid,
      authToken: double.authToken,
      from: '+15005550006',
      apiBaseUrl: double.url,
    });
    await expect(
      sender.send({ idempotencyKey: 'test-sms/bad-to', to: '13900000000', body: 'x' }),
    ).rejects.toMatchObject({ code: 21211, status: 400 });
    const wrongToken = createTwilioSender(db, {
      accountSid: double.accountSid,
      authToken: 'wrong-token-0123456789',
      from: '+15005550006',
      apiBaseUrl: double.url,
    });
    await expect(
      wrongToken.send({ idempotencyKey: 'test-sms/bad-auth', to: randomPhone(), body: 'x' }),
    ).rejects.toMatchObject({ code: 20003, status: 401 });
    const { rows } = await db.query(
      `select count(*)::int as n from sms_messages where idempotency_key like 'test-sms/bad-%'`,
    );
    expect(rows[0].n).toBe(0);
  });

  test('the outbox records a message with a Twilio-shaped SID', async () => {
    const to = randomPhone();
    const sent = await createOutboxSender(db).send({ idempotencyKey: `test-outbox/${to}`, to, body: '测试' });
    expect(sent).toMatchObject({
      sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
      status: 'outbox',
      replayed: false,
    });
  });
});

describe('the webhook in outbox mode', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp(
      { ...stackConfig(), TEMPORAL_TASK_QUEUE: 'test-sms-outbox' },
      pino({ level: 'error' }),
    );
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
  });

  test('a reply typed in the console goes through the same signed webhook', async () => {
    const from = randomPhone();
    const answer = await app.inject({
      method: 'POST',
      url: '/api/sms/outbox/replies',
      payload: { from, text: 'Y 123456' },
    });
    expect(answer.statusCode, answer.body).toBe(202);
    expect(answer.json()).toMatchObject({ webhookStatus: 200 });
    const listed = await app.inject({
      method: 'GET',
      url: `/api/sms/outbox?phone=${encodeURIComponent(from)}`,
    });
    expect(listed.json()).toMatchObject({
      mode: 'outbox',
      messages: [{ direction: 'inbound', from, body: 'Y 123456', outcome: 'sender_not_bound' }],
    });
  });

  test('an unsigned or badly formed post is refused and records nothing', async () => {
    const from = randomPhone();
    const unsigned = await app.inject({
      method: 'POST',
      url: '/api/sms/inbound',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bm9wZQ==' },
      payload: new URLSearchParams({
        MessageSid: `SM${'0'.repeat(32)}`,
        From: from,
        To: '+1',
        Body: 'N',
      }).toString(),
    });
    expect(unsigned.statusCode).toBe(403);
    expect(unsigned.json().error.code).toBe('signature_invalid');
    const badPhone = await app.inject({
      method: 'POST',
      url: '/api/sms/outbox/replies',
      payload: { from: '13900000000', text: 'N' },
    });
    expect(badPhone.statusCode).toBe(400);
    const listed = await app.inject({
      method: 'GET',
      url: `/api/sms/outbox?phone=${encodeURIComponent(from)}`,
    });
    expect(listed.json().messages).toEqual([]);
  });
});
