import type { FastifyInstance } from 'fastify';
import { signalLostCard, startLostCard } from '../../../core/blacklist/start-lost-card.ts';
import { terminalBlacklistRoutes } from './terminal-routes.ts';
import { blacklistListRoutes } from './list-routes.ts';
import { cardNo, operatorId, reason, requestId } from '../cards/schemas.ts';
import { error } from '../errors.ts';

const tags = ['blacklist'];

/**
 * 挂失: a loss report starts the lost-card process (its business key is the card), 解挂 signals it. The
 * terminals' blacklist routes are registered from here too, so app.ts names one blacklist plugin.
 */
export async function blacklistRoutes(app: FastifyInstance): Promise<void> {
  await app.register(terminalBlacklistRoutes);
  await app.register(blacklistListRoutes);

  app.post<{
    Params: { cardNo: string };
    Body: {
      requestId: string;
      channel: 'card_office' | 'parent_sms' | 'web';
      operatorId: string;
      reason?: string;
    };
  }>(
    '/api/cards/:cardNo/loss-reports',
    {
      schema: {
        summary: 'Report a card lost (挂失): freezes it, lists it on the blacklist, texts the parent',
        tags,
        params: { type: 'object', required: ['cardNo'], properties: { cardNo } },
        body: {
          type: 'object',
          required: ['requestId', 'channel', 'operatorId'],
          additionalProperties: false,
          properties: {
            requestId,
            channel: { type: 'string', enum: ['card_office', 'parent_sms', 'web'] },
            operatorId,
            reason,
          },
        },
      },
    },
    async (request, reply) => {
      const { rows } = await app.db.query<{ school_id: string; status: string }>(
        `select h.school_id, c.status from cards c join cardholders h using (cardholder_id) where c.card_no = $1`,
        [request.params.cardNo],
      );
      const card = rows[0];
      if (!card) return reply.status(404).send(error('card_not_found', `no card ${request.params.cardNo}`));
      if (card.status === 'cancelled')
        return reply
          .status(422)
          .send(error('card_is_cancelled', `card ${request.params.cardNo} is cancelled`));
      const b = request.body;
      const answer = await startLostCard(app.temporal.client, app.temporal.taskQueue, {
        cardNo: request.params.cardNo,
        schoolId: card.school_id,
        channel: b.channel,
        requestId: b.requestId,
        operatorId: b.operatorId,
        reason: b.reason ?? '挂失',
      });
      return reply.status(answer.started ? 202 : 200).send(answer);
    },
  );

  app.post<{ Params: { cardNo: string }; Body: { operatorId: string; reason: string } }>(
    '/api/cards/:cardNo/unfreeze-requests',
    {
      schema: {
        summary: 'Unfreeze a lost card that was found (解挂): signals its lost-card process',
        tags,
        params: { type: 'object', required: ['cardNo'], properties: { cardNo } },
        body: {
          type: 'object',
          required: ['operatorId', 'reason'],
          additionalProperties: false,
          properties: { operatorId, reason },
        },
      },
    },
    async (request, reply) => {
      const signalled = await signalLostCard(app.temporal.client, request.params.cardNo, {
        name: 'unfreezeCard',
        payload: request.body,
      });
      if (!signalled)
        return reply
          .status(409)
          .send(error('card_is_not_lost', `card ${request.params.cardNo} has no loss report under way`));
      return reply.status(202).send({ cardNo: request.params.cardNo, signalled: true });
    },
  );
}
