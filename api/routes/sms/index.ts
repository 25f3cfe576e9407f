import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import { codeMatches, isBoundPhone, waitingTopUpsFor } from '../../../core/bank/top-up-records.ts';
import { recordInbound, readInboundParams, recordStatus, settleInbound } from '../../../core/sms/inbound.ts';
import { smsPaths, webhookSigningToken } from '../../../core/sms/from-config.ts';
import { parseLossReport, parseTopUpReply } from '../../../core/sms/reply.ts';
import { startLostCard } from '../../../core/blacklist/start-lost-card.ts';
import { outboxFromNumber } from '../../../core/sms/sender.ts';
import { isValidTwilioSignature } from '../../../core/sms/signature.ts';
import { signalNames } from '../../../workflows/names.ts';
import { outboxRoutes } from './outbox.ts';

const emptyTwiml = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/**
 * Twilio's webhooks: inbound messages (a parent's reply to a top-up request) and delivery statuses. Both
 * are form posts signed with `X-Twilio-Signature`; a request whose signature does not verify is refused
 * with 403 and changes nothing. Not wrapped in fastify-plugin: the form parser stays in this scope.
 */
export async function smsRoutes(app: FastifyInstance): Promise<void> {
  const signing = webhookSigningToken(app.config);
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  /** The URL Twilio called, as it signed it: the public base URL when set, else what the request says. */
  const calledUrl = (request: FastifyRequest, path = request.url) =>
    new URL(path, app.config.PUBLIC_BASE_URL ?? `${request.protocol}://${request.host}`).toString();

  const refuseForged = (request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined => {
    const params = request.body as Record<string, string>;
    const signature = request.headers['x-twilio-signature'];
    if (isValidTwilioSignature(signing.token, signature as string | undefined, calledUrl(request), params))
      return undefined;
    request.log.warn(
      { url: request.url, messageSid: params.MessageSid ?? null, hasSignature: Boolean(signature) },
      'SMS webhook refused: the X-Twilio-Signature does not verify',
    );
    return reply
      .status(403)
      .send({ error: { code: 'signature_invalid', message: 'the X-Twilio-Signature does not verify' } });
  };

  const formBody = { type: 'object', additionalProperties: { type: 'string' } } as const;

  app.post(
    smsPaths.inbound,
    {
      schema: {
        summary: 'Twilio inbound SMS webhook (a parent replies Y <code> / N, or texts 挂失)',
        tags: ['sms'],
        body: formBody,
      },
    },
    async (request, reply) => {
      const refused = refuseForged(request, reply);
      if (refused) return refused;
      const sms = readInboundParams(request.body as Record<string, string>);
      if (typeof sms === 'string')
        return reply.status(400).send({ error: { code: 'invalid_request', message: sms } });
      const twiml = () => reply.status(200).type('text/xml').send(emptyTwiml);

      const earlier = await recordInbound(app.db, sms, signing.mode);
      if (earlier && earlier.outcome !== 'received') {
        request.log.info(
          { messageSid: sms.messageSid, outcome: earlier.outcome },
          'SMS reply replayed: ignored',
        );
        return twiml();
      }
      if (!(await isBoundPhone(app.db, sms.from))) {
        await settleInbound(app.db, sms.messageSid, 'sender_not_bound');
        request.log.warn({ messageSid: sms.messageSid }, 'SMS reply from a number bound to no card: ignored');
        return twiml();
      }
      const loss = parseLossReport(sms.body);
      if (loss) {
        // 挂失 by text: the card must be one bound to this phone, named by its last four when there are two.
        const { rows: bound } = await app.db.query<{ card_no: string; school_id: string }>(
          `select b.card_no, h.school_id from parent_bindings b join cards c using (card_no)
             join cardholders h using (cardholder_id)
            where b.guardian_phone = $1 and c.status <> 'cancelled' order by b.card_no`,
          [sms.from],
        );
        const named = bound.filter((c) => !loss.cardSuffix || c.card_no.endsWith(loss.cardSuffix));
        if (named.length !== 1) {
          await settleInbound(app.db, sms.messageSid, 'loss_report_unclear');
          request.log.info(
            { messageSid: sms.messageSid, cards: named.length },
            'SMS loss report names no single card of this phone: ignored',
          );
          return twiml();
        }
        const started = await startLostCard(app.temporal.client, app.temporal.taskQueue, {
          cardNo: named[0]!.card_no,
          schoolId: named[0]!.school_id,
          channel: 'parent_sms',
          requestId: sms.messageSid,
          operatorId: 'parent-sms',
          reason: '家长短信挂失',
        });
        await settleInbound(app.db, sms.messageSid, 'loss_reported', started.workflowId);
        return twiml();
      }
      const waiting = await waitingTopUpsFor(app.db, sms.from);
      const parsed = parseTopUpReply(sms.body);
      let target = waiting[0];
      // A parent of two pupils with two requests open: the code says which one the reply is for.
      if (parsed.kind === 'approve' && waiting.length > 1)
        for (const candidate of waiting)
          if (await codeMatches(app.db, candidate.workflowId, parsed.code)) target = candidate;
      if (!target) {
        await settleInbound(app.db, sms.messageSid, 'no_waiting_top_up');
        request.log.info({ messageSid: sms.messageSid }, 'SMS reply with no top-up waiting for it: ignored');
        return twiml();
      }
      try {
        await app.temporal.client.workflow
          .getHandle(target.workflowId)
          .signal(signalNames.topUpReply, { messageSid: sms.messageSid, from: sms.from, text: sms.body });
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        await settleInbound(app.db, sms.messageSid, 'no_waiting_top_up', target.workflowId);
        request.log.info({ messageSid: sms.messageSid }, 'SMS reply came after its top-up closed: ignored');
        return twiml();
      }
      await settleInbound(app.db, sms.messageSid, 'signalled', target.workflowId);
      return twiml();
    },
  );

  app.post(
    smsPaths.status,
    { schema: { summary: 'Twilio delivery status callback', tags: ['sms'], body: formBody } },
    async (request, reply) => {
      const refused = refuseForged(request, reply);
      if (refused) return refused;
      const params = request.body as Record<string, string>;
      const sid = params.MessageSid ?? params.SmsSid;
      const status = params.MessageStatus ?? params.SmsStatus;
      if (!sid || !/^(SM|MM)[0-9a-f]{32}$/.test(sid) || !status || !/^[a-z_-]{2,20}$/.test(status))
        return reply
          .status(400)
          .send({ error: { code: 'invalid_request', message: 'MessageSid and MessageStatus are required' } });
      await recordStatus(app.db, { sid, status, errorCode: params.ErrorCode });
      return reply.status(204).send();
    },
  );

  await app.register(outboxRoutes, {
    signing,
    inboundUrl: (request: FastifyRequest) => calledUrl(request, smsPaths.inbound),
    from: outboxFromNumber,
  });
}
