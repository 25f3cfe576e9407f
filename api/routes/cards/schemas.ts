/** Schemas shared by the card-office routes. Every write carries requestId (idempotency) and operatorId. */
export const requestId = {
  type: 'string',
  pattern: '^[A-Za-z0-9._:-]{1,100}$',
  description: 'idempotency key: the same id again returns the first answer',
} as const;
export const operatorId = { type: 'string', minLength: 1, maxLength: 64 } as const;
export const code = { type: 'string', pattern: '^[A-Z0-9-]{2,32}$' } as const;
export const cardNo = { type: 'string', pattern: '^[0-9A-F]{8,20}$' } as const;
export const isoDate = {
  type: 'string',
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$',
} as const;
export const pin = {
  type: 'string',
  pattern: '^[0-9]{6}$',
  description: 'six digits; stored only as a scrypt hash',
} as const;
export const personNo = { type: 'string', pattern: '^[A-Za-z0-9-]{1,32}$' } as const;
export const personName = { type: 'string', minLength: 1, maxLength: 50 } as const;
export const gender = { type: 'string', enum: ['F', 'M', 'U'] } as const;
export const batchCode = { type: 'string', pattern: '^[A-Za-z0-9-]{1,32}$' } as const;
export const reason = { type: 'string', minLength: 1, maxLength: 200 } as const;
export const fenNumber = { type: 'integer', minimum: 0, maximum: 10_000_000 } as const;

/** A body schema: the given properties plus requestId and operatorId, all named ones required. */
export function writeBody(properties: Record<string, unknown>, required: string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['requestId', 'operatorId', ...required],
    properties: { requestId, operatorId, ...properties },
  };
}

export const okResponse = {
  200: {
    type: 'object',
    additionalProperties: true,
    properties: { outcome: { const: 'ok' }, replayed: { type: 'boolean' } },
  },
  '4xx': { $ref: 'Error#' },
  '5xx': { $ref: 'Error#' },
} as const;
