import type { FastifyInstance } from 'fastify';
import { runCommand } from '../../../core/ledger/command.ts';
import { cardDepositCommand } from '../../../core/ledger/operations/deposit.ts';
import { refundCommand } from '../../../core/ledger/operations/refund.ts';
import { reversalCommand } from '../../../core/ledger/operations/reversal.ts';
import { topUpCommand } from '../../../core/ledger/operations/top-up.ts';
import { transferCommand } from '../../../core/ledger/operations/transfer.ts';
import { LedgerBusyError } from '../../../core/ledger/purchase/batcher.ts';
import type { Deduction } from '../../../core/ledger/purchase/types.ts';
import type { SpendableWallet } from '../../../core/ledger/subjects.ts';
import { sendAnswer } from './reply.ts';
import {
  amountFen,
  cardNo,
  ledgerResponses as responses,
  operatorId,
  purchaseRouteSchema,
  requestId,
  transactionId,
  wallet,
} from './schemas.ts';

type Json<T> = { Body: T };
const tags = ['ledger'];

/** Every write here is idempotent: a purchase on terminalId + terminalSeq, every other write on requestId. */
export async function moneyRoutes(app: FastifyInstance): Promise<void> {
  app.post<
    Json<{
      terminalId: string;
      terminalSeq: number;
      cardNo: string;
      deduction: Deduction & { amountFen?: number };
      pin?: string;
    }>
  >(
    '/api/ledger/purchases',
    {
      schema: purchaseRouteSchema,
    },
    async (request, reply) => {
      const body = request.body;
      const parsed: Deduction =
        body.deduction.mode === 'amount'
          ? { mode: 'amount', amountFen: BigInt(body.deduction.amountFen!) }
          : body.deduction;
      try {
        const answer = await app.purchases.submit({
          requestKey: `pos:${body.terminalId}:${body.terminalSeq}`,
          terminalId: body.terminalId,
          terminalSeq: body.terminalSeq,
          cardNo: body.cardNo,
          deduction: parsed,
          pin: body.pin,
          at: new Date(),
        });
        return sendAnswer(reply, answer);
      } catch (error) {
        if (error instanceof LedgerBusyError)
          return reply.status(503).send({ error: { code: error.code, message: error.message } });
        throw error;
      }
    },
  );

  app.post<
    Json<{
      requestId: string;
      cardNo: string;
      amountFen: number;
      method: 'cash' | 'bank';
      operatorId: string;
    }>
  >(
    '/api/ledger/top-ups',
    {
      schema: {
        summary: 'Top-up at a cashier (现金充值) into the main wallet',
        tags,
        body: {
          type: 'object',
          required: ['requestId', 'cardNo', 'amountFen', 'method', 'operatorId'],
          additionalProperties: false,
          properties: {
            requestId,
            cardNo,
            amountFen,
            method: { type: 'string', enum: ['cash', 'bank'] },
            operatorId,
          },
        },
        response: responses,
      },
    },
    async (request, reply) => {
      const b = request.body;
      return sendAnswer(
        reply,
        await runCommand(
          app.db,
          topUpCommand({
            requestKey: `top-up:${b.requestId}`,
            cardNo: b.cardNo,
            amountFen: BigInt(b.amountFen),
            method: b.method,
            operatorId: b.operatorId,
            at: new Date(),
          }),
        ),
      );
    },
  );

  const walletRef = {
    type: 'object',
    required: ['cardNo', 'wallet'],
    additionalProperties: false,
    properties: { cardNo, wallet },
  } as const;
  app.post<
    Json<{
      requestId: string;
      from: { cardNo: string; wallet: SpendableWallet };
      to: { cardNo: string; wallet: SpendableWallet };
      amountFen: number;
      operatorId: string;
    }>
  >(
    '/api/ledger/transfers',
    {
      schema: {
        summary: 'Wallet-to-wallet transfer (转账)',
        tags,
        body: {
          type: 'object',
          required: ['requestId', 'from', 'to', 'amountFen', 'operatorId'],
          additionalProperties: false,
          properties: { requestId, from: walletRef, to: walletRef, amountFen, operatorId },
        },
        response: responses,
      },
    },
    async (request, reply) => {
      const b = request.body;
      return sendAnswer(
        reply,
        await runCommand(
          app.db,
          transferCommand({
            requestKey: `transfer:${b.requestId}`,
            from: b.from,
            to: b.to,
            amountFen: BigInt(b.amountFen),
            operatorId: b.operatorId,
            at: new Date(),
          }),
        ),
      );
    },
  );

  app.post<
    Json<{ requestId: string; transactionId: number; amountFen: number; reason: string; operatorId: string }>
  >(
    '/api/ledger/refunds',
    {
      schema: {
        summary: 'Refund all or part of a purchase (退款)',
        tags,
        body: {
          type: 'object',
          required: ['requestId', 'transactionId', 'amountFen', 'reason', 'operatorId'],
          additionalProperties: false,
          properties: {
            requestId,
            transactionId,
            amountFen,
            reason: { type: 'string', minLength: 1, maxLength: 200 },
            operatorId,
          },
        },
        response: responses,
      },
    },
    async (request, reply) => {
      const b = request.body;
      return sendAnswer(
        reply,
        await runCommand(
          app.db,
          refundCommand({
            requestKey: `refund:${b.requestId}`,
            transactionId: BigInt(b.transactionId),
            amountFen: BigInt(b.amountFen),
            reason: b.reason,
            operatorId: b.operatorId,
            at: new Date(),
          }),
        ),
      );
    },
  );

  app.post<Json<{ requestId: string; transactionId: number; reason: string; operatorId: string }>>(
    '/api/ledger/reversals',
    {
      schema: {
        summary: 'Reverse a transaction (冲正): a new transaction negating every posting of the original',
        tags,
        body: {
          type: 'object',
          required: ['requestId', 'transactionId', 'reason', 'operatorId'],
          additionalProperties: false,
          properties: {
            requestId,
            transactionId,
            reason: { type: 'string', minLength: 1, maxLength: 200 },
            operatorId,
          },
        },
        response: responses,
      },
    },
    async (request, reply) => {
      const b = request.body;
      return sendAnswer(
        reply,
        await runCommand(
          app.db,
          reversalCommand({
            requestKey: `reversal:${b.requestId}`,
            transactionId: BigInt(b.transactionId),
            reason: b.reason,
            operatorId: b.operatorId,
            at: new Date(),
          }),
        ),
      );
    },
  );

  app.post<
    Json<{
      requestId: string;
      cardNo: string;
      amountFen: number;
      direction: 'in' | 'out';
      operatorId: string;
    }>
  >(
    '/api/ledger/card-deposits',
    {
      schema: {
        summary: 'Card deposit (押金) paid in or paid back',
        tags,
        body: {
          type: 'object',
          required: ['requestId', 'cardNo', 'amountFen', 'direction', 'operatorId'],
          additionalProperties: false,
          properties: {
            requestId,
            cardNo,
            amountFen,
            direction: { type: 'string', enum: ['in', 'out'] },
            operatorId,
          },
        },
        response: responses,
      },
    },
    async (request, reply) => {
      const b = request.body;
      return sendAnswer(
        reply,
        await runCommand(
          app.db,
          cardDepositCommand({
            requestKey: `deposit:${b.requestId}`,
            cardNo: b.cardNo,
            amountFen: BigInt(b.amountFen),
            direction: b.direction,
            operatorId: b.operatorId,
            at: new Date(),
          }),
        ),
      );
    },
  );
}
