import { maxAmountFenNumber, limits } from '../../../core/ledger/money.ts';

/** Schemas shared by the ledger routes; every fen amount is a positive integer below the maximum. */
export const amountFen = {
  type: 'integer',
  minimum: 1,
  maximum: maxAmountFenNumber,
  description: 'fen (分), a positive integer',
} as const;
export const cardNo = {
  type: 'string',
  pattern: '^[0-9A-F]{8,20}$',
  description: 'card number, 8–20 upper-case hex digits',
} as const;
export const terminalId = { type: 'string', pattern: '^[A-Z0-9-]{2,32}$' } as const;
/** The idempotency key of an operator's write: any id the caller makes unique, sent again on a retry. */
export const requestId = {
  type: 'string',
  pattern: '^[A-Za-z0-9._:-]{1,100}$',
  description: 'idempotency key: the same id again returns the first answer',
} as const;
export const operatorId = { type: 'string', minLength: 1, maxLength: 64 } as const;
export const transactionId = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
export const wallet = { type: 'string', enum: ['main', 'subsidy'] } as const;
export const isoDate = { type: 'string', format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;

export const deduction = {
  oneOf: [
    {
      type: 'object',
      required: ['mode', 'amountFen'],
      additionalProperties: false,
      properties: { mode: { const: 'amount' }, amountFen },
    },
    {
      type: 'object',
      required: ['mode'],
      additionalProperties: false,
      properties: { mode: { const: 'fixed' } },
    },
    {
      type: 'object',
      required: ['mode', 'lines'],
      additionalProperties: false,
      properties: {
        mode: { const: 'menu' },
        lines: {
          type: 'array',
          minItems: 1,
          maxItems: limits.menuLinesMax,
          items: {
            type: 'object',
            required: ['itemCode', 'quantity'],
            additionalProperties: false,
            properties: {
              itemCode: { type: 'string', pattern: '^[A-Za-z0-9-]{1,20}$' },
              quantity: { type: 'integer', minimum: 1, maximum: limits.portionsMax },
            },
          },
        },
      },
    },
    {
      type: 'object',
      required: ['mode', 'portions'],
      additionalProperties: false,
      properties: {
        mode: { const: 'portions' },
        portions: { type: 'integer', minimum: 1, maximum: limits.portionsMax },
      },
    },
  ],
} as const;

/** A success: the command's own answer plus `outcome: "ok"`, `replayed` and the transaction id. */
export const okAnswer = {
  type: 'object',
  required: ['outcome', 'replayed'],
  additionalProperties: true,
  properties: { outcome: { const: 'ok' }, replayed: { type: 'boolean' }, transactionId: { type: 'integer' } },
} as const;

export const refusalResponses = { '4xx': { $ref: 'Error#' }, 503: { $ref: 'Error#' } } as const;

/** The answers of a ledger write: its own on success, the one error format on a refusal. */
export const ledgerResponses = { 200: okAnswer, ...refusalResponses } as const;

/** The online purchase's route; the swipe benchmark's route floor (bench/parts/route-floor.ts) serves it too. */
export const purchaseRouteSchema = {
  summary: 'Online purchase at a POS (在线消费); idempotent on terminalId + terminalSeq',
  tags: ['ledger'],
  body: {
    type: 'object',
    required: ['terminalId', 'terminalSeq', 'cardNo', 'deduction'],
    additionalProperties: false,
    properties: {
      terminalId,
      terminalSeq: { type: 'integer', minimum: 0, maximum: 2_147_483_647 },
      cardNo,
      deduction,
      pin: { type: 'string', pattern: '^[0-9]{6}$' },
    },
  },
  response: ledgerResponses,
} as const;
