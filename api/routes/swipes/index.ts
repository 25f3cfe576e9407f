import type { FastifyInstance } from 'fastify';
import { recordSwipes, swipeLimits, type SwipeRecord } from './store.ts';

const statusOf = {
  unknown_terminal: 422,
  terminal_is_disabled: 409,
  invalid_record: 422,
  exists_with_different_content: 409,
} as const;

/** Swipe uploads from gates, dorm doors, class attendance readers, buses and access control. */
export async function swipeRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: { terminalId: string; records: SwipeRecord[] } }>(
    '/api/swipes',
    {
      schema: {
        summary:
          'Upload swipe records (刷卡记录) of one terminal; each record is idempotent on terminal id + sequence number',
        tags: ['swipes'],
        body: {
          type: 'object',
          required: ['terminalId', 'records'],
          additionalProperties: false,
          properties: {
            terminalId: { type: 'string', pattern: '^[A-Z0-9-]{2,32}$' },
            records: {
              type: 'array',
              minItems: 1,
              maxItems: swipeLimits.recordsPerUploadMax,
              items: {
                type: 'object',
                required: ['terminalSeq', 'cardNo', 'kind', 'at'],
                additionalProperties: false,
                properties: {
                  terminalSeq: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
                  cardNo: { type: 'string', pattern: '^[0-9A-F]{8,20}$' },
                  kind: {
                    type: 'string',
                    enum: [
                      'gate_in',
                      'gate_out',
                      'dorm_in',
                      'dorm_out',
                      'class',
                      'bus_on',
                      'bus_off',
                      'access',
                    ],
                  },
                  at: { type: 'string', format: 'date-time' },
                },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['stored', 'duplicates'],
            properties: { stored: { type: 'integer' }, duplicates: { type: 'integer' } },
          },
          409: { $ref: 'Error#' },
          422: { $ref: 'Error#' },
        },
      },
    },
    async (request, reply) => {
      const answer = await recordSwipes(app.db, request.body.terminalId, request.body.records);
      if (answer.outcome === 'ok') return { stored: answer.stored, duplicates: answer.duplicates };
      return reply
        .status(statusOf[answer.outcome])
        .send({ error: { code: answer.outcome, message: answer.message } });
    },
  );
}
