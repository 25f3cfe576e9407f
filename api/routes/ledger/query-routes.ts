import type { FastifyInstance } from 'fastify';
import { checkLedger } from '../../../core/ledger/check.ts';
import { cardNo } from './schemas.ts';

const tags = ['ledger'];

export async function queryRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { cardNo: string } }>(
    '/api/ledger/cards/:cardNo/wallets',
    {
      schema: {
        summary: 'The wallets of a card’s holder with their balances',
        tags,
        params: { type: 'object', required: ['cardNo'], properties: { cardNo } },
        response: {
          200: {
            type: 'object',
            properties: {
              cardNo: { type: 'string' },
              wallets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { wallet: { type: 'string' }, balanceFen: { type: 'integer' } },
                },
              },
            },
          },
          '4xx': { $ref: 'Error#' },
        },
      },
    },
    async (request, reply) => {
      const { rows } = await app.db.query<{ wallet_kind: string; balance_fen: bigint }>(
        `select a.wallet_kind, a.balance_fen from cards c join accounts a on a.cardholder_id = c.cardholder_id
          where c.card_no = $1 order by a.wallet_kind`,
        [request.params.cardNo],
      );
      if (rows.length === 0)
        return reply.status(404).send({
          error: { code: 'card_not_found', message: `no such card: cardNo ${request.params.cardNo}` },
        });
      return {
        cardNo: request.params.cardNo,
        wallets: rows.map((r) => ({ wallet: r.wallet_kind, balanceFen: Number(r.balance_fen) })),
      };
    },
  );

  app.get(
    '/api/ledger/check',
    {
      schema: {
        summary:
          'Recompute every balance from the postings and report differences and unbalanced transactions',
        tags,
        response: {
          200: {
            type: 'object',
            properties: {
              accountsChecked: { type: 'integer' },
              differences: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    accountId: { type: 'string' },
                    storedFen: { type: 'string' },
                    recomputedFen: { type: 'string' },
                  },
                },
              },
              unbalancedTransactions: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    async () => checkLedger(app.db),
  );

  app.get(
    '/api/ledger/subjects',
    {
      schema: {
        summary: 'The chart of accounts (科目)',
        tags,
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                subjectCode: { type: 'string' },
                parentCode: { type: ['string', 'null'] },
                nameZh: { type: 'string' },
                nameEn: { type: 'string' },
                category: { type: 'string' },
                normalSide: { type: 'string' },
                predefined: { type: 'boolean' },
              },
            },
          },
        },
      },
    },
    async () => {
      const { rows } = await app.db.query(
        `select subject_code as "subjectCode", parent_code as "parentCode", name_zh as "nameZh", name_en as "nameEn",
                category, normal_side as "normalSide", predefined from account_subjects order by subject_code limit 1000`,
      );
      return rows;
    },
  );

  app.post<{ Body: { subjectCode: string; parentCode: string; nameZh: string; nameEn: string } }>(
    '/api/ledger/subjects',
    {
      schema: {
        summary:
          'Add a sub-account (子科目) under an existing subject; it takes the parent’s category and side',
        tags,
        body: {
          type: 'object',
          required: ['subjectCode', 'parentCode', 'nameZh', 'nameEn'],
          additionalProperties: false,
          properties: {
            subjectCode: { type: 'string', pattern: '^[0-9]{6,10}$' },
            parentCode: { type: 'string', pattern: '^[0-9]{4,8}$' },
            nameZh: { type: 'string', minLength: 1, maxLength: 50 },
            nameEn: { type: 'string', minLength: 1, maxLength: 80 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { subjectCode: { type: 'string' }, replayed: { type: 'boolean' } },
          },
          '4xx': { $ref: 'Error#' },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (!b.subjectCode.startsWith(b.parentCode)) {
        return reply.status(400).send({
          error: { code: 'invalid_request', message: 'body/subjectCode must start with body/parentCode' },
        });
      }
      const { rows: existing } = await app.db.query<{
        parent_code: string;
        name_zh: string;
        name_en: string;
      }>(`select parent_code, name_zh, name_en from account_subjects where subject_code = $1`, [
        b.subjectCode,
      ]);
      if (existing[0]) {
        // The subject code is its own idempotency key: the same subject again is a repeat.
        const same =
          existing[0].parent_code === b.parentCode &&
          existing[0].name_zh === b.nameZh &&
          existing[0].name_en === b.nameEn;
        return same
          ? { subjectCode: b.subjectCode, replayed: true }
          : reply.status(409).send({
              error: {
                code: 'subject_already_exists',
                message: `subjectCode ${b.subjectCode} exists with other names`,
              },
            });
      }
      const { rowCount } = await app.db.query(
        `insert into account_subjects (subject_code, parent_code, name_zh, name_en, category, normal_side)
         select $1, subject_code, $3, $4, category, normal_side from account_subjects where subject_code = $2
         on conflict do nothing`,
        [b.subjectCode, b.parentCode, b.nameZh, b.nameEn],
      );
      if (rowCount === 0)
        return reply.status(404).send({
          error: {
            code: 'subject_not_found',
            message: `no such account subject: parentCode ${b.parentCode}`,
          },
        });
      return { subjectCode: b.subjectCode, replayed: false };
    },
  );
}
