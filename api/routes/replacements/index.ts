import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import { recordCollection } from '../../../core/ledger/offline/collections.ts';
import { startCardReplacement } from '../../../core/cards/start-replacement.ts';
import { queryNames, workflowIds } from '../../../workflows/names.ts';
import type { CardReplacementState } from '../../../workflows/card-replacement/workflow.ts';
import { cardNo, code as terminalId, operatorId, reason, requestId } from '../cards/schemas.ts';
import { error, errorBody, startedBody } from '../errors.ts';

const tags = ['card-office'];

/**
 * 补卡 of a lost card as a process (its business key is the old card), what it has done so far, and the
 * collection check-in by which a terminal says it holds no record not yet uploaded.
 */
export async function replacementRoutes(app: FastifyInstance): Promise<void> {
  app.post<{
    Params: { cardNo: string };
    Body: {
      requestId: string;
      operatorId: string;
      reason: string;
      offlineWindowS?: number;
      collectionCheckS?: number;
    };
  }>(
    '/api/cards/:cardNo/replacements',
    {
      schema: {
        summary:
          'Replace a lost card (补卡): freeze it, wait for its offline records, then move its balance to a new card',
        tags,
        params: { type: 'object', required: ['cardNo'], properties: { cardNo } },
        body: {
          type: 'object',
          required: ['requestId', 'operatorId', 'reason'],
          additionalProperties: false,
          properties: {
            requestId,
            operatorId,
            reason,
            // 72 h unless the card office sets a shorter or longer wait for this card.
            offlineWindowS: { type: 'integer', minimum: 1, maximum: 30 * 86_400 },
            collectionCheckS: { type: 'integer', minimum: 1, maximum: 86_400 },
          },
        },
        response: {
          200: startedBody,
          202: startedBody,
          404: errorBody,
          422: errorBody,
        },
      },
    },
    async (request, reply) => {
      const { rows } = await app.db.query<{ school_id: string; status: string; card_kind: string }>(
        `select h.school_id, c.status, c.card_kind from cards c join cardholders h using (cardholder_id) where c.card_no = $1`,
        [request.params.cardNo],
      );
      const card = rows[0];
      const no = request.params.cardNo;
      if (!card) return reply.status(404).send(error('card_not_found', `no card ${no}`));
      if (card.card_kind !== 'user')
        return reply
          .status(422)
          .send(error('card_is_not_replaceable', `card ${no} is a ${card.card_kind} card; issue a new one`));
      const b = request.body;
      const running = await app.db.query(`select 1 from card_replacements where old_card_no = $1`, [no]);
      if (card.status === 'cancelled' && !running.rows[0])
        return reply.status(422).send(error('card_is_cancelled', `card ${no} is cancelled`));
      const answer = await startCardReplacement(app.temporal.client, app.temporal.taskQueue, {
        cardNo: no,
        schoolId: card.school_id,
        requestId: b.requestId,
        operatorId: b.operatorId,
        reason: b.reason,
        offlineWindowMs: b.offlineWindowS === undefined ? undefined : b.offlineWindowS * 1000,
        collectionCheckMs: b.collectionCheckS === undefined ? undefined : b.collectionCheckS * 1000,
      });
      return reply.status(answer.started ? 202 : 200).send(answer);
    },
  );

  app.get<{ Params: { cardNo: string } }>(
    '/api/cards/:cardNo/replacements',
    {
      schema: {
        summary:
          'Where the replacement of a card stands: the wait, the silent terminals, the balance handed over',
        tags,
        params: { type: 'object', required: ['cardNo'], properties: { cardNo } },
        response: {
          200: {
            type: 'object',
            properties: {
              oldCardNo: { type: 'string' },
              workflowId: { type: 'string' },
              state: { type: 'string' },
              phase: { type: 'string' },
              frozenAt: { type: 'string' },
              waitEnded: { type: ['string', 'null'] },
              silentTerminals: { type: 'array', items: { type: 'string' } },
              newCardNo: { type: ['string', 'null'] },
              mainFen: { type: ['integer', 'null'] },
              subsidyFen: { type: ['integer', 'null'] },
              depositFen: { type: ['integer', 'null'] },
              transferredAt: { type: ['string', 'null'] },
            },
          },
          404: errorBody,
        },
      },
    },
    async (request, reply) => {
      const { rows } = await app.db.query<{
        old_card_no: string;
        workflow_id: string;
        state: string;
        frozen_at: Date;
        wait_ended: string | null;
        silent_terminals: string[];
        new_card_no: string | null;
        main_fen: string | null;
        subsidy_fen: string | null;
        deposit_fen: string | null;
        transferred_at: Date | null;
      }>(`select * from card_replacements where old_card_no = $1`, [request.params.cardNo]);
      const row = rows[0];
      if (!row)
        return reply
          .status(404)
          .send(error('replacement_not_found', `card ${request.params.cardNo} has no replacement`));
      const live = row.state === 'waiting_offline' ? await liveState(app, request.params.cardNo) : undefined;
      const money = (value: string | null) => (value === null ? null : Number(value));
      return {
        oldCardNo: row.old_card_no,
        workflowId: row.workflow_id,
        state: row.state,
        phase: live?.phase ?? (row.state === 'transferred' ? 'completed' : 'waiting_offline'),
        frozenAt: row.frozen_at.toISOString(),
        waitEnded: row.wait_ended,
        silentTerminals: live?.silentTerminals ?? row.silent_terminals,
        newCardNo: row.new_card_no,
        mainFen: money(row.main_fen),
        subsidyFen: money(row.subsidy_fen),
        depositFen: money(row.deposit_fen),
        transferredAt: row.transferred_at?.toISOString() ?? null,
      };
    },
  );

  app.post<{ Params: { terminalId: string }; Body: { pendingRecords: number } }>(
    '/api/terminals/:terminalId/collection-check-ins',
    {
      schema: {
        summary:
          'The collection service took everything a terminal held (采集): nothing is left to upload as of now',
        tags: ['terminals'],
        params: { type: 'object', required: ['terminalId'], properties: { terminalId } },
        body: {
          type: 'object',
          required: ['pendingRecords'],
          additionalProperties: false,
          properties: { pendingRecords: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
        },
        response: {
          200: {
            type: 'object',
            properties: { terminalId: { type: 'string' }, collectedAt: { type: 'string' } },
          },
          404: errorBody,
          409: errorBody,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.terminalId;
      const { rows } = await app.db.query(`select 1 from terminals where terminal_id = $1`, [id]);
      if (!rows[0]) return reply.status(404).send(error('terminal_not_found', `no terminal ${id}`));
      if (request.body.pendingRecords > 0)
        return reply
          .status(409)
          .send(
            error(
              'terminal_has_pending_records',
              `terminal ${id} still holds ${request.body.pendingRecords} records: upload them (offline-uploads) first`,
            ),
          );
      await recordCollection(app.db, id, null);
      const { rows: at } = await app.db.query<{ collected_at: Date }>(
        `select collected_at from terminal_collections where terminal_id = $1`,
        [id],
      );
      return { terminalId: id, collectedAt: at[0]!.collected_at.toISOString() };
    },
  );
}

/** The running workflow's own view (the silent terminals as last looked at); none when it is not running. */
async function liveState(app: FastifyInstance, cardNo: string): Promise<CardReplacementState | undefined> {
  try {
    return await app.temporal.client.workflow
      .getHandle(workflowIds.cardReplacement(cardNo))
      .query<CardReplacementState>(queryNames.cardReplacementState);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}
