import type { FastifyInstance } from 'fastify';
import { BlacklistRefusal, listBatch, listCard, unlistCard } from '../../../core/blacklist/entries.ts';
import { blacklistCapacityMax } from '../../../core/blacklist/versions.ts';

const cardNo = { type: 'string', pattern: '^[0-9A-F]{8,20}$' } as const;
const batchId = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' } as const;
const reason = { type: 'string', minLength: 1, maxLength: 200 } as const;
const tags = ['blacklist'];

const error = (code: string, message: string) => ({ error: { code, message } });
const statusOf = (refusal: BlacklistRefusal) => (refusal.code === 'blacklist_is_full' ? 422 : 409);

/** The blacklist's two levels, as the card centre maintains them: batch lists and scattered entries. */
export async function blacklistListRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: { batchId: string; reason: string; cardNos: string[] } }>(
    '/api/blacklist/batches',
    {
      schema: {
        summary: 'List a batch of cards on the blacklist under one version (批量黑名单)',
        tags,
        body: {
          type: 'object',
          required: ['batchId', 'reason', 'cardNos'],
          additionalProperties: false,
          properties: {
            batchId,
            reason,
            cardNos: { type: 'array', minItems: 1, maxItems: blacklistCapacityMax, items: cardNo },
          },
        },
      },
    },
    async (request, reply) => {
      try {
        return reply.status(201).send(await listBatch(app.db, request.body));
      } catch (e) {
        if (e instanceof BlacklistRefusal) return reply.status(statusOf(e)).send(error(e.code, e.message));
        throw e;
      }
    },
  );

  app.put<{ Params: { cardNo: string }; Body: { reason: string } }>(
    '/api/blacklist/entries/:cardNo',
    {
      schema: {
        summary: 'List one card on the blacklist (零散黑名单); listing it again is a no-op',
        tags,
        params: { type: 'object', required: ['cardNo'], properties: { cardNo } },
        body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason } },
      },
    },
    async (request, reply) => {
      try {
        const answer = await listCard(app.db, {
          cardNo: request.params.cardNo,
          reason: request.body.reason,
          priority: false,
        });
        return reply.status(200).send(answer);
      } catch (e) {
        if (e instanceof BlacklistRefusal) return reply.status(statusOf(e)).send(error(e.code, e.message));
        throw e;
      }
    },
  );

  app.delete<{ Params: { cardNo: string }; Body: { reason: string } }>(
    '/api/blacklist/entries/:cardNo',
    {
      schema: {
        summary: 'Take one card off the blacklist under a new version',
        tags,
        params: { type: 'object', required: ['cardNo'], properties: { cardNo } },
        body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason } },
      },
    },
    async (request) => unlistCard(app.db, { cardNo: request.params.cardNo, reason: request.body.reason }),
  );
}
