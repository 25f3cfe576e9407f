import type { FastifyInstance } from 'fastify';
import { relayLag } from '../../../warehouse/relay/relay.ts';

/** The outbox relay's lag and set-aside count, read from the outbox itself. */
export async function relayRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/warehouse/relay',
    {
      schema: {
        summary: 'Outbox relay lag (events not yet in the warehouse) and events set aside as malformed',
        tags: ['warehouse'],
        response: {
          200: {
            type: 'object',
            required: ['unpublished', 'lagSeconds', 'oldestUnpublishedAt', 'rejected'],
            properties: {
              unpublished: { type: 'integer' },
              lagSeconds: { type: 'number' },
              oldestUnpublishedAt: { type: ['string', 'null'] },
              rejected: { type: 'integer' },
            },
          },
        },
      },
    },
    async () => relayLag(app.db),
  );
}
