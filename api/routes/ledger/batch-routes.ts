import type { FastifyInstance } from 'fastify';
import { businessDate } from '../../../core/ledger/calendar.ts';
import { runCommand } from '../../../core/ledger/command.ts';
import { limits } from '../../../core/ledger/money.ts';
import type { OfflineRecord } from '../../../core/ledger/offline/check-record.ts';
import { uploadOfflineRecords } from '../../../core/ledger/offline/upload.ts';
import {
  subsidyClearingCommand,
  subsidyIssueCommand,
  type SubsidyTarget,
} from '../../../core/ledger/operations/subsidy.ts';
import { sendAnswer } from './reply.ts';
import {
  amountFen,
  cardNo,
  isoDate,
  okAnswer,
  operatorId,
  refusalResponses,
  requestId,
  terminalId,
} from './schemas.ts';

const responses = { 200: okAnswer, ...refusalResponses };
const tags = ['ledger'];

type RecordJson = Omit<OfflineRecord, 'balanceFenBefore' | 'amountFen' | 'balanceFenAfter'> & {
  balanceFenBefore: number;
  amountFen: number;
  balanceFenAfter: number;
};

export async function batchRoutes(app: FastifyInstance): Promise<void> {
  app.post<{
    Body: {
      batchId: string;
      unitId: string;
      amountFen: number;
      target: SubsidyTarget;
      expiresOn: string;
      operatorId: string;
    };
  }>(
    '/api/ledger/subsidy-batches',
    {
      schema: {
        summary:
          'Issue a subsidy batch (补助发放) by card category or cardholder batch; batchId is the idempotency key',
        tags,
        body: {
          type: 'object',
          required: ['batchId', 'unitId', 'amountFen', 'target', 'expiresOn', 'operatorId'],
          additionalProperties: false,
          properties: {
            batchId: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' },
            unitId: { type: 'string', pattern: '^[A-Z0-9-]{2,32}$' },
            amountFen,
            expiresOn: isoDate,
            operatorId,
            target: {
              oneOf: [
                {
                  type: 'object',
                  required: ['categoryIds'],
                  additionalProperties: false,
                  properties: {
                    categoryIds: {
                      type: 'array',
                      minItems: 1,
                      maxItems: 120,
                      uniqueItems: true,
                      items: { type: 'integer', minimum: 1, maximum: 120 },
                    },
                  },
                },
                {
                  type: 'object',
                  required: ['batchCode'],
                  additionalProperties: false,
                  properties: { batchCode: { type: 'string', pattern: '^[A-Za-z0-9-]{1,32}$' } },
                },
              ],
            },
          },
        },
        response: responses,
      },
    },
    async (request, reply) => {
      const b = request.body;
      const at = new Date();
      if (b.expiresOn < businessDate(at))
        return reply.status(400).send({
          error: {
            code: 'invalid_request',
            message: `body/expiresOn ${b.expiresOn} is in the past: a subsidy must be spendable for at least a day`,
          },
        });
      return sendAnswer(
        reply,
        await runCommand(app.db, subsidyIssueCommand({ ...b, amountFen: BigInt(b.amountFen), at })),
      );
    },
  );

  app.post<{ Body: { requestId: string; batchId: string; operatorId: string } }>(
    '/api/ledger/subsidy-clearings',
    {
      schema: {
        summary: 'Clear what is left of an expired subsidy batch (补助清零)',
        tags,
        body: {
          type: 'object',
          required: ['requestId', 'batchId', 'operatorId'],
          additionalProperties: false,
          properties: {
            requestId,
            batchId: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' },
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
          subsidyClearingCommand({
            requestKey: `subsidy-clearing:${b.requestId}`,
            batchId: b.batchId,
            operatorId: b.operatorId,
            at: new Date(),
          }),
        ),
      );
    },
  );

  const balance = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
  app.post<{ Body: { uploadId: string; terminalId: string; records: RecordJson[] } }>(
    '/api/ledger/offline-uploads',
    {
      schema: {
        summary:
          'Upload offline purchase records (脱机流水) of one terminal; each record is idempotent on terminal + sequence',
        tags,
        body: {
          type: 'object',
          required: ['uploadId', 'terminalId', 'records'],
          additionalProperties: false,
          properties: {
            uploadId: requestId,
            terminalId,
            records: {
              type: 'array',
              minItems: 1,
              maxItems: limits.offlineRecordsPerUploadMax,
              items: {
                type: 'object',
                additionalProperties: false,
                required: [
                  'terminalSeq',
                  'cardNo',
                  'cardCounter',
                  'balanceFenBefore',
                  'amountFen',
                  'balanceFenAfter',
                  'at',
                  'tac',
                ],
                properties: {
                  terminalSeq: { type: 'integer', minimum: 0, maximum: 2_147_483_647 },
                  cardNo,
                  cardCounter: { type: 'integer', minimum: 0, maximum: 65_535 },
                  balanceFenBefore: balance,
                  amountFen,
                  balanceFenAfter: balance,
                  at: { type: 'string', format: 'date-time' },
                  tac: { type: 'string', pattern: '^[0-9A-F]{8}$' },
                },
              },
            },
          },
        },
        response: responses,
      },
    },
    async (request, reply) => {
      const b = request.body;
      const records: OfflineRecord[] = b.records.map((r) => ({
        ...r,
        balanceFenBefore: BigInt(r.balanceFenBefore),
        amountFen: BigInt(r.amountFen),
        balanceFenAfter: BigInt(r.balanceFenAfter),
      }));
      return sendAnswer(
        reply,
        await uploadOfflineRecords(app.db, { uploadId: b.uploadId, terminalId: b.terminalId, records }),
      );
    },
  );
}
