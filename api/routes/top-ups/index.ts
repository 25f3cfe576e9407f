import type { FastifyInstance } from 'fastify';
import { bindParent, findBoundCard } from '../../../core/bank/bindings.ts';
import { bankCallbackPath, bankGatewayFromConfig } from '../../../core/bank/from-config.ts';
import { reconcileTopUps } from '../../../core/bank/reconciliation.ts';
import { verifyBankSignature } from '../../../core/bank/callback-signature.ts';
import { maxAmountFenNumber } from '../../../core/ledger/money.ts';
import {
  cardsBelowThreshold,
  replyWindowMsDefault,
  startBankTopUp,
} from '../../../core/bank/start-top-up.ts';
import type { BankTopUpInput } from '../../../activities/bank-top-up/types.ts';

const cardNo = { type: 'string', pattern: '^[0-9A-F]{8,20}$' } as const;
const amountFen = { type: 'integer', minimum: 1, maximum: maxAmountFenNumber } as const;
const requestId = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' } as const;

const error = (code: string, message: string) => ({ error: { code, message } });

/**
 * Bank top-ups approved by the parent's SMS reply (网银圈存): the parent binding, starting a top-up (by a
 * parent's request or a low balance), the reconciliation records, and the bank's signed callbacks.
 * Not wrapped in fastify-plugin: the raw-body JSON parser for the callbacks stays in this scope.
 */
export async function topUpRoutes(app: FastifyInstance): Promise<void> {
  app.put<{
    Params: { cardNo: string };
    Body: {
      guardianPhone: string;
      guardianName?: string;
      bankCardToken: string;
      bankCardLast4?: string;
      lowBalanceThresholdFen?: number;
      topUpAmountFen?: number;
    };
  }>(
    '/api/parent-bindings/:cardNo',
    {
      schema: {
        summary: 'Bind a parent (phone, bank card token, low-balance threshold) to a card',
        tags: ['bank top-ups'],
        params: { type: 'object', required: ['cardNo'], properties: { cardNo } },
        body: {
          type: 'object',
          required: ['guardianPhone', 'bankCardToken'],
          additionalProperties: false,
          properties: {
            guardianPhone: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$' },
            guardianName: { type: 'string', minLength: 1, maxLength: 50 },
            // A token from the bank's binding; a full card number is refused by this pattern.
            bankCardToken: { type: 'string', pattern: '^tok_[A-Za-z0-9_]{8,64}$' },
            bankCardLast4: { type: 'string', pattern: '^[0-9]{4}$' },
            lowBalanceThresholdFen: { type: 'integer', minimum: 0, maximum: maxAmountFenNumber },
            topUpAmountFen: amountFen,
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      try {
        await bindParent(app.db, {
          cardNo: request.params.cardNo,
          guardianPhone: b.guardianPhone,
          guardianName: b.guardianName ?? null,
          bankCardToken: b.bankCardToken,
          bankCardLast4: b.bankCardLast4 ?? null,
          lowBalanceThresholdFen: b.lowBalanceThresholdFen ?? null,
          topUpAmountFen: b.topUpAmountFen ?? 10_000,
        });
      } catch (e) {
        if ((e as { code?: string }).code === '23503')
          return reply.status(404).send(error('card_not_found', `no card ${request.params.cardNo}`));
        throw e;
      }
      return reply.status(200).send({ cardNo: request.params.cardNo, bound: true });
    },
  );

  app.post<{
    Body: {
      cardNo: string;
      requestId: string;
      trigger: BankTopUpInput['trigger'];
      amountFen?: number;
      replyTimeoutS?: number;
    };
  }>(
    '/api/bank-top-ups',
    {
      schema: {
        summary: "Start a bank top-up that waits for the parent's SMS approval",
        tags: ['bank top-ups'],
        body: {
          type: 'object',
          required: ['cardNo', 'requestId', 'trigger'],
          additionalProperties: false,
          properties: {
            cardNo,
            requestId,
            trigger: { type: 'string', enum: ['parent_request', 'low_balance'] },
            amountFen,
            replyTimeoutS: { type: 'integer', minimum: 1, maximum: 86_400 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const card = await findBoundCard(app.db, b.cardNo);
      if (!card)
        return reply.status(404).send(error('parent_not_bound', `card ${b.cardNo} has no bound parent`));
      if (card.cardStatus === 'cancelled')
        return reply.status(422).send(error('card_is_cancelled', `card ${b.cardNo} is cancelled`));
      if (
        b.trigger === 'low_balance' &&
        (card.lowBalanceThresholdFen === null || card.mainBalanceFen >= card.lowBalanceThresholdFen)
      )
        return reply
          .status(409)
          .send(error('balance_is_not_low', 'the main wallet is not below the low-balance threshold'));
      const input: BankTopUpInput = {
        cardNo: b.cardNo,
        schoolId: card.schoolId,
        requestId: b.requestId,
        amountFen: b.amountFen ?? card.topUpAmountFen,
        trigger: b.trigger,
        replyTimeoutMs: b.replyTimeoutS === undefined ? replyWindowMsDefault : b.replyTimeoutS * 1000,
      };
      // The business key is the id: the same request again is answered with the one already started.
      const { workflowId, started } = await startBankTopUp(
        app.temporal.client,
        app.temporal.taskQueue,
        input,
      );
      return reply.status(started ? 202 : 200).send({ workflowId, started, amountFen: input.amountFen });
    },
  );

  app.post<{ Body: { businessDate: string; schoolId?: string; replyTimeoutS?: number } }>(
    '/api/bank-top-ups/low-balance-scans',
    {
      schema: {
        summary: 'Start a top-up for every bound card below its low-balance threshold (one a day per card)',
        tags: ['bank top-ups'],
        body: {
          type: 'object',
          required: ['businessDate'],
          additionalProperties: false,
          properties: {
            businessDate: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
            schoolId: { type: 'string', pattern: '^[A-Z0-9-]{2,32}$' },
            replyTimeoutS: { type: 'integer', minimum: 1, maximum: 86_400 },
          },
        },
      },
    },
    async (request) => {
      const started: string[] = [];
      const cards = await cardsBelowThreshold(app.db, { schoolId: request.body.schoolId });
      for (const card of cards) {
        const answer = await startBankTopUp(app.temporal.client, app.temporal.taskQueue, {
          ...card,
          requestId: `low-balance-${request.body.businessDate}`,
          trigger: 'low_balance',
          replyTimeoutMs:
            request.body.replyTimeoutS === undefined
              ? replyWindowMsDefault
              : request.body.replyTimeoutS * 1000,
        });
        if (answer.started) started.push(answer.workflowId);
      }
      return { cardsBelowThreshold: cards.length, started };
    },
  );

  app.get<{ Querystring: { since: string } }>(
    '/api/bank-top-ups/reconciliation',
    {
      schema: {
        summary: "圈存对账: the bank's statement against the top-up records and the ledger",
        tags: ['bank top-ups'],
        querystring: {
          type: 'object',
          required: ['since'],
          additionalProperties: false,
          properties: { since: { type: 'string', format: 'date-time' } },
        },
      },
    },
    async (request, reply) => {
      const bank = bankGatewayFromConfig(app.config);
      if (!bank) return reply.status(503).send(error('bank_not_configured', 'BANK_GATEWAY_URL is not set'));
      const since = new Date(request.query.since);
      return reconcileTopUps(app.db, await bank.statement(since), since);
    },
  );

  app.get<{ Querystring: { cardNo: string } }>(
    '/api/bank-top-ups',
    {
      schema: {
        summary: 'The bank top-ups of a card, with their reconciliation fields (圈存对账)',
        tags: ['bank top-ups'],
        querystring: {
          type: 'object',
          required: ['cardNo'],
          additionalProperties: false,
          properties: { cardNo },
        },
      },
    },
    async (request) => {
      const { rows } = await app.db.query(
        `select t.workflow_id as "workflowId", t.card_no as "cardNo", t.amount_fen::int as "amountFen", t.trigger, t.status,
                t.bank_debit_id as "bankDebitId", t.bank_refund_id as "bankRefundId",
                t.ledger_transaction_id::text as "ledgerTransactionId", t.bank_confirmed_at as "bankConfirmedAt",
                t.created_at as "createdAt", t.updated_at as "updatedAt"
           from bank_top_ups t where t.card_no = $1 order by t.created_at desc limit 100`,
        [request.query.cardNo],
      );
      return { topUps: rows };
    },
  );

  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(
        Object.assign(new Error('the body is not valid JSON'), { statusCode: 400, code: 'MALFORMED_JSON' }),
      );
    }
  });

  app.post(
    bankCallbackPath,
    { schema: { summary: "The bank's signed events (debits, refunds)", tags: ['bank top-ups'] } },
    async (request, reply) => {
      const secret = app.config.BANK_CALLBACK_SECRET;
      if (!secret)
        return reply.status(503).send(error('bank_not_configured', 'BANK_CALLBACK_SECRET is not set'));
      const refused = verifyBankSignature(
        secret,
        request.headers['x-bank-signature'] as string | undefined,
        request.rawBody ?? '',
      );
      if (refused) {
        request.log.warn({ reason: refused }, 'bank callback refused');
        return reply.status(403).send(error(refused, 'the X-Bank-Signature does not verify'));
      }
      const event = request.body as {
        eventId?: string;
        type?: string;
        debitId?: string;
        amountFen?: number;
      };
      if (!event.eventId || !event.type || !event.debitId || !Number.isSafeInteger(event.amountFen))
        return reply
          .status(400)
          .send(error('invalid_request', 'eventId, type, debitId and amountFen are required'));
      const inserted = await app.db.query(
        `insert into bank_callbacks (event_id, type, debit_id, amount_fen, payload) values ($1, $2, $3, $4, $5)
         on conflict (event_id) do nothing`,
        [event.eventId, event.type, event.debitId, event.amountFen, JSON.stringify(event)],
      );
      if (event.type === 'debit.succeeded')
        await app.db.query(
          `update bank_top_ups set bank_confirmed_at = coalesce(bank_confirmed_at, now())
            where bank_debit_id = $1 and amount_fen = $2`,
          [event.debitId, event.amountFen],
        );
      return reply.status(200).send({ received: true, replayed: inserted.rowCount === 0 });
    },
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}
