import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimBank, type Answer } from './bank.ts';
import { FaultSchedule, parseFaultHeader, parseFaultRule, type FaultRule } from './faults.ts';

/**
 * A local bank with its own HTTP API, standing in for the bank our gateway talks to (none can be
 * reached from here). The protocol:
 *
 *   POST /v1/debits   {cardToken, amountFen, reference, callbackUrl?}   Idempotency-Key required
 *   POST /v1/refunds  {debitId, amountFen, reason, callbackUrl?}        Idempotency-Key required
 *   GET  /v1/debits/:debitId
 *   GET  /v1/debits                                                       every debit (reconciliation)
 *
 * All with `Authorization: Bearer <apiKey>`. A repeat with the same key and body gets the first answer
 * (with `Idempotent-Replayed: true`); another body under the same key is refused. After each debit and
 * refund the bank POSTs a signed event to the callback URL: `X-Bank-Signature: t=<unix s>,v1=<hex>` with
 * v1 = HMAC-SHA256(callbackSecret, `${t}.${body}`), retried a few times until it gets a 2xx.
 *
 * For tests, under /sim/ (same key): open cards with balances, read them, set the fault schedule.
 */
export interface BankSimulatorOptions {
  apiKey: string;
  callbackSecret: string;
  /** Where events go when a request names no callbackUrl. */
  defaultCallbackUrl?: string;
  log?: (line: string) => void;
}

export interface RunningBankSimulator {
  url: string;
  bank: SimBank;
  faults: FaultSchedule;
  close(): Promise<void>;
}

const bodyBytesMax = 64 * 1024;
const amountFenMax = 10_000_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function signBankEvent(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

export async function startBankSimulator(
  options: BankSimulatorOptions,
  port = 0,
  host = '127.0.0.1',
): Promise<RunningBankSimulator> {
  const bank = new SimBank();
  const faults = new FaultSchedule();
  const log = options.log ?? (() => undefined);
  const pendingCallbacks = new Set<Promise<void>>();

  const authorised = (header: string | undefined) => {
    const given = Buffer.from(header ?? '');
    const expected = Buffer.from(`Bearer ${options.apiKey}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const sendEvent = (callbackUrl: string | undefined, event: Record<string, unknown>) => {
    const url = callbackUrl ?? options.defaultCallbackUrl;
    if (!url) return;
    const body = JSON.stringify(event);
    const delivery = (async () => {
      for (let attempt = 1; attempt <= 5; attempt++) {
        try {
          const answer = await fetch(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-bank-signature': signBankEvent(options.callbackSecret, body, Math.floor(Date.now() / 1000)),
            },
            body,
            signal: AbortSignal.timeout(5_000),
          });
          if (answer.ok) return;
          log(`callback ${event.eventId as string} answered ${answer.status}`);
        } catch (error) {
          log(`callback ${event.eventId as string} failed: ${(error as Error).message}`);
        }
        await sleep(200 * 2 ** attempt);
      }
    })();
    pendingCallbacks.add(delivery);
    void delivery.finally(() => pendingCallbacks.delete(delivery));
  };

  const withFault = async (
    fault: FaultRule | undefined,
    run: () => Promise<Answer & { replayed: boolean }>,
  ): Promise<Answer & { replayed: boolean }> => {
    if (fault?.kind === 'fail_before')
      return {
        status: fault.status ?? 503,
        body: { error: { code: 'bank_unavailable', message: 'simulated outage' } },
        replayed: false,
      };
    if (fault?.kind === 'delay_before') await sleep(fault.delayMs ?? 1_000);
    const answer = await run();
    if (fault?.kind === 'delay_after') await sleep(fault.delayMs ?? 1_000);
    if (fault?.kind === 'fail_after')
      return {
        status: fault.status ?? 500,
        body: { error: { code: 'bank_internal_error', message: 'simulated failure after the write' } },
        replayed: false,
      };
    return answer;
  };

  const routes = async (
    req: http.IncomingMessage,
    body: Record<string, unknown>,
  ): Promise<Answer & { replayed?: boolean }> => {
    const url = new URL(req.url ?? '/', 'http://bank.local');
    const route = `${req.method} ${url.pathname}`;
    if (!authorised(req.headers.authorization))
      throw new HttpError(401, 'unauthorised', 'a valid Authorization: Bearer key is required');
    const headerFault = parseFaultHeader(req.headers['x-sim-fault'] as string | undefined);

    if (route === 'POST /v1/debits' || route === 'POST /v1/refunds') {
      const key = idempotencyKey(req);
      const fingerprint = createHash('sha256')
        .update(`${route} ${JSON.stringify({ ...body, callbackUrl: undefined })}`)
        .digest('hex');
      if (route === 'POST /v1/debits') {
        const input = {
          cardToken: text(body, 'cardToken'),
          amountFen: amount(body),
          reference: text(body, 'reference'),
        };
        const fault = headerFault ?? faults.take('debit', input.cardToken);
        const answer = await withFault(fault, () => bank.once(key, fingerprint, () => bank.debit(input)));
        if (answer.status === 201 && !answer.replayed)
          sendEvent(optionalText(body, 'callbackUrl'), {
            eventId: `evt_${answer.body.debitId as string}`,
            type: 'debit.succeeded',
            ...answer.body,
          });
        return answer;
      }
      const input = {
        debitId: text(body, 'debitId'),
        amountFen: amount(body),
        reason: text(body, 'reason'),
      };
      const fault = headerFault ?? faults.take('refund', bank.debits.get(input.debitId)?.cardToken);
      const answer = await withFault(fault, () => bank.once(key, fingerprint, () => bank.refund(input)));
      if (answer.status === 201 && !answer.replayed)
        sendEvent(optionalText(body, 'callbackUrl'), {
          eventId: `evt_${answer.body.refundId as string}`,
          type: 'refund.succeeded',
          ...answer.body,
        });
      return answer;
    }
    if (route === 'GET /v1/debits') {
      const since = url.searchParams.get('since') ?? '';
      return {
        status: 200,
        body: {
          debits: [...bank.debits.values()].filter((d) => d.createdAt >= since),
          refunds: [...bank.refunds.values()].filter((r) => r.createdAt >= since),
        },
      };
    }
    const debitMatch = /^GET \/v1\/debits\/([A-Za-z0-9_]+)$/.exec(route);
    if (debitMatch) {
      const debit = bank.debits.get(debitMatch[1]!);
      if (!debit) throw new HttpError(404, 'debit_unknown', 'no such debit');
      return { status: 200, body: { ...debit } };
    }
    if (route === 'POST /sim/cards') {
      const card = {
        cardToken: text(body, 'cardToken'),
        balanceFen: amount(body, 'balanceFen', true),
        blocked: body.blocked === true,
      };
      bank.openCard(card);
      return { status: 201, body: card };
    }
    const cardMatch = /^GET \/sim\/cards\/([A-Za-z0-9_]+)$/.exec(route);
    if (cardMatch) {
      const card = bank.cards.get(cardMatch[1]!);
      if (!card) throw new HttpError(404, 'card_unknown', 'no such card');
      return { status: 200, body: { ...card } };
    }
    if (route === 'PUT /sim/faults') {
      if (!Array.isArray(body.rules)) throw new HttpError(400, 'invalid_request', 'rules must be an array');
      try {
        faults.replace(body.rules.map(parseFaultRule));
      } catch (error) {
        throw new HttpError(400, 'invalid_request', (error as Error).message);
      }
      return { status: 200, body: { rules: faults.describe() } };
    }
    if (route === 'GET /sim/faults') return { status: 200, body: { rules: faults.describe() } };
    throw new HttpError(404, 'not_found', `no route ${route}`);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      let answer: Answer & { replayed?: boolean };
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      try {
        const body = await readJson(req);
        answer = await routes(req, body);
        if (answer.replayed) headers['idempotent-replayed'] = 'true';
      } catch (error) {
        answer =
          error instanceof HttpError
            ? { status: error.status, body: { error: { code: error.code, message: error.message } } }
            : { status: 500, body: { error: { code: 'bank_internal_error', message: 'internal error' } } };
        if (!(error instanceof HttpError)) log(`error: ${(error as Error).stack}`);
      }
      log(`${req.method} ${req.url} -> ${answer.status}`);
      res.writeHead(answer.status, headers).end(JSON.stringify(answer.body));
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    bank,
    faults,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...pendingCallbacks]);
    },
  };
}

function idempotencyKey(req: http.IncomingMessage): string {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key.length < 1 || key.length > 255)
    throw new HttpError(
      400,
      'idempotency_key_missing',
      'an Idempotency-Key header (1–255 chars) is required',
    );
  return key;
}

function text(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length < 1 || value.length > 200)
    throw new HttpError(400, 'invalid_request', `${field} must be a string of 1–200 characters`);
  return value;
}

function optionalText(body: Record<string, unknown>, field: string): string | undefined {
  return body[field] === undefined ? undefined : text(body, field);
}

function amount(body: Record<string, unknown>, field = 'amountFen', zeroAllowed = false): number {
  const value = body[field];
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < (zeroAllowed ? 0 : 1) ||
    (!zeroAllowed && value > amountFenMax)
  )
    throw new HttpError(400, 'invalid_amount', `${field} must be an integer number of fen`);
  return value;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > bodyBytesMax) throw new HttpError(413, 'body_too_large', 'the body is too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'malformed_json', 'the body must be a JSON object');
  }
}
