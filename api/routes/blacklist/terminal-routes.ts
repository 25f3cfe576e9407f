import type { FastifyInstance } from 'fastify';
import {
  confirmBlacklist,
  DistributionRefusal,
  fetchBlacklist,
} from '../../../core/blacklist/distribution.ts';

const terminalId = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' } as const;
const version = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const tags = ['blacklist'];

const error = (code: string, message: string) => ({ error: { code, message } });

/** 黑名单下发: a terminal fetches the changes since the version it names (or the full list) and confirms. */
export async function terminalBlacklistRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { terminalId: string }; Querystring: { since: string } }>(
    '/api/terminals/:terminalId/blacklist',
    {
      schema: {
        summary: 'The blacklist for a terminal: changes since its version, or the full list (黑名单下发)',
        tags,
        params: { type: 'object', required: ['terminalId'], properties: { terminalId } },
        querystring: {
          type: 'object',
          required: ['since'],
          additionalProperties: false,
          // A query string is text: the one place a number is coerced, by its own pattern.
          properties: { since: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' } },
        },
      },
    },
    async (request, reply) => {
      try {
        return await fetchBlacklist(app.db, {
          terminalId: request.params.terminalId,
          since: Number(request.query.since),
        });
      } catch (e) {
        if (e instanceof DistributionRefusal) return reply.status(409).send(error(e.code, e.message));
        throw e;
      }
    },
  );

  app.post<{ Params: { terminalId: string }; Body: { version: number } }>(
    '/api/terminals/:terminalId/blacklist/confirmations',
    {
      schema: {
        summary: 'A terminal confirms the blacklist version it now holds',
        tags,
        params: { type: 'object', required: ['terminalId'], properties: { terminalId } },
        body: {
          type: 'object',
          required: ['version'],
          additionalProperties: false,
          properties: { version },
        },
      },
    },
    async (request, reply) => {
      try {
        return await confirmBlacklist(app.db, {
          terminalId: request.params.terminalId,
          version: request.body.version,
        });
      } catch (e) {
        if (e instanceof DistributionRefusal) return reply.status(409).send(error(e.code, e.message));
        throw e;
      }
    },
  );
}
