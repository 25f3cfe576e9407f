import type { FastifyReply } from 'fastify';
import { isRefusalCode } from '../../../core/ledger/outcomes.ts';
import type { LedgerAnswer } from '../../../core/ledger/purchase/execute.ts';
import { statusOf } from './status.ts';

/**
 * Sends a ledger answer: a success as 200 with the stored answer (and `replayed: true`, plus the
 * `Idempotent-Replayed` header, when it is a repeat); a refusal in the one error format with its status.
 */
export function sendAnswer(reply: FastifyReply, answer: LedgerAnswer): FastifyReply {
  const { response, replayed } = answer;
  if (replayed) reply.header('Idempotent-Replayed', 'true');
  if (response.outcome === 'ok') return reply.status(200).send({ ...response, replayed });
  const code = isRefusalCode(response.outcome) ? response.outcome : 'internal_error';
  return reply
    .status(isRefusalCode(code) ? statusOf(code) : 500)
    .send({ error: { code, message: String(response.message ?? code) } });
}
