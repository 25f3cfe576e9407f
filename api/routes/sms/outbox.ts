import type { FastifyInstance, FastifyRequest } from 'fastify';
import { smsPaths } from '../../../core/sms/from-config.ts';
import { newMessageSid } from '../../../core/sms/sender.ts';
import { signTwilioRequest } from '../../../core/sms/signature.ts';

const phone = { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' } as const;

/**
 * The outbox (the default SMS mode): read what was sent, and answer as a parent would. A reply is built
 * as Twilio would post it, signed with the real algorithm, and sent through the same webhook path, so it
 * meets every check a real reply meets.
 */
export async function outboxRoutes(
  app: FastifyInstance,
  options: {
    signing: { token: string; mode: 'twilio' | 'outbox' };
    inboundUrl: (request: FastifyRequest) => string;
    from: string;
  },
): Promise<void> {
  app.get<{ Querystring: { phone?: string; limit?: string } }>(
    '/api/sms/outbox',
    {
      schema: {
        summary: 'Messages in and out (newest first), optionally for one phone',
        tags: ['sms'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          // Query strings are not coerced by this API's schema settings: the limit is read from digits.
          properties: { phone, limit: { type: 'string', pattern: '^(500|[1-4]?[0-9]{1,2})$' } },
        },
      },
    },
    async (request) => {
      const { rows } = await app.db.query(
        `select sid, direction, mode, from_phone as "from", to_phone as "to", body, template, workflow_id as "workflowId",
                status, outcome, created_at as "createdAt"
           from sms_messages where $1::text is null or to_phone = $1 or from_phone = $1
          order by message_id desc limit $2`,
        [request.query.phone ?? null, Number(request.query.limit ?? 50) || 50],
      );
      return { mode: options.signing.mode, messages: rows };
    },
  );

  app.post<{ Body: { from: string; text: string } }>(
    '/api/sms/outbox/replies',
    {
      schema: {
        summary: 'Reply as a parent in outbox mode (through the signed inbound webhook)',
        tags: ['sms'],
        body: {
          type: 'object',
          required: ['from', 'text'],
          additionalProperties: false,
          properties: { from: phone, text: { type: 'string', minLength: 1, maxLength: 1600 } },
        },
      },
    },
    async (request, reply) => {
      if (options.signing.mode !== 'outbox')
        return reply.status(409).send({
          error: {
            code: 'sms_is_not_in_outbox_mode',
            message: 'replies come from Twilio when it is configured',
          },
        });
      const params = {
        MessageSid: newMessageSid(),
        SmsSid: '',
        AccountSid: 'AC00000000000000000000000000000000',
        From: request.body.from,
        To: options.from,
        Body: request.body.text,
        NumMedia: '0',
        NumSegments: '1',
      };
      params.SmsSid = params.MessageSid;
      const answer = await app.inject({
        method: 'POST',
        url: smsPaths.inbound,
        headers: {
          host: request.host,
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signTwilioRequest(options.signing.token, options.inboundUrl(request), params),
        },
        payload: new URLSearchParams(params).toString(),
      });
      return reply.status(answer.statusCode === 200 ? 202 : answer.statusCode).send({
        messageSid: params.MessageSid,
        webhookStatus: answer.statusCode,
      });
    },
  );
}
