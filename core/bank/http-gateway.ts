import type {
  BankGateway,
  DebitRequest,
  DebitResult,
  RefundRequest,
  RefundResult,
  StatementLine,
} from './port.ts';
import { BankProtocolError, BankUnavailableError } from './port.ts';

export interface HttpBankGatewayOptions {
  baseUrl: string;
  apiKey: string;
  /** Where the bank posts its signed events (our API's /api/bank/callbacks). */
  callbackUrl?: string;
  /** One request's time limit; a slower bank counts as unavailable and the call is retried. */
  requestTimeoutMs?: number;
}

/** Statuses with which the bank declines: the answer is final for this key. */
const declineStatuses = new Set([402, 403, 404, 422]);

/** The one bank adapter: the bank's HTTP API (see drivers/bank-simulator/server.ts for the protocol). */
export function createHttpBankGateway(options: HttpBankGatewayOptions): BankGateway {
  const timeoutMs = options.requestTimeoutMs ?? 10_000;

  async function post(
    path: string,
    idempotencyKey: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ) {
    let response: Response;
    try {
      response = await fetch(new URL(path, options.baseUrl), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify({ ...body, callbackUrl: options.callbackUrl }),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
          : AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new BankUnavailableError(`bank ${path}: no answer (${(error as Error).message})`);
    }
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown> & {
      error?: { code?: string; message?: string };
    };
    const code = answer.error?.code ?? `http_${response.status}`;
    if (response.status >= 500 || code === 'request_in_progress')
      throw new BankUnavailableError(`bank ${path}: ${response.status} ${code}`);
    if (response.status === 200 || response.status === 201)
      return { ok: true as const, answer, replayed: response.headers.get('idempotent-replayed') === 'true' };
    if (declineStatuses.has(response.status))
      return { ok: false as const, code, message: answer.error?.message ?? code };
    // 400, 401, 409 idempotency_key_reused: our request is wrong; no retry will make it right.
    throw new BankProtocolError(`bank ${path}: ${response.status} ${code}`);
  }

  return {
    async statement(since: Date): Promise<StatementLine[]> {
      let response: Response;
      try {
        response = await fetch(
          new URL(`/v1/debits?since=${encodeURIComponent(since.toISOString())}`, options.baseUrl),
          {
            headers: { authorization: `Bearer ${options.apiKey}` },
            signal: AbortSignal.timeout(timeoutMs),
          },
        );
      } catch (error) {
        throw new BankUnavailableError(`bank statement: no answer (${(error as Error).message})`);
      }
      if (!response.ok) throw new BankUnavailableError(`bank statement: ${response.status}`);
      const { debits } = (await response.json()) as { debits: StatementLine[] };
      return debits.map(({ debitId, reference, amountFen, refundedFen, createdAt }) => ({
        debitId,
        reference,
        amountFen,
        refundedFen,
        createdAt,
      }));
    },

    async debit(request: DebitRequest, signal?: AbortSignal): Promise<DebitResult> {
      const result = await post(
        '/v1/debits',
        request.idempotencyKey,
        {
          cardToken: request.cardToken,
          amountFen: request.amountFen,
          reference: request.reference,
        },
        signal,
      );
      if (!result.ok) return { outcome: 'declined', code: result.code, message: result.message };
      return {
        outcome: 'succeeded',
        debitId: String(result.answer.debitId),
        amountFen: Number(result.answer.amountFen),
        replayed: result.replayed,
      };
    },

    async refund(request: RefundRequest, signal?: AbortSignal): Promise<RefundResult> {
      const result = await post(
        '/v1/refunds',
        request.idempotencyKey,
        {
          debitId: request.debitId,
          amountFen: request.amountFen,
          reason: request.reason,
        },
        signal,
      );
      if (!result.ok) return { outcome: 'declined', code: result.code, message: result.message };
      return {
        outcome: 'succeeded',
        refundId: String(result.answer.refundId),
        amountFen: Number(result.answer.amountFen),
        replayed: result.replayed,
      };
    },
  };
}
