import { randomBytes, randomInt } from 'node:crypto';
import { expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createCards, createSchool, type School } from '../ledger/fixture.ts';
import type { TopUpStack } from './top-up-stack.ts';

export interface BoundFixture {
  school: School;
  cardNo: string;
  phone: string;
  bankCardToken: string;
}

export const randomPhone = () => `+86139${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;

/** Binds a parent's phone (a new one unless given) to a card through the API; no bank card at the bank. */
export async function bindParent(
  app: FastifyInstance,
  cardNo: string,
  phone = randomPhone(),
): Promise<string> {
  const bound = await app.inject({
    method: 'PUT',
    url: `/api/parent-bindings/${cardNo}`,
    payload: { guardianPhone: phone, bankCardToken: `tok_${randomBytes(8).toString('hex')}` },
  });
  expect(bound.statusCode, bound.body).toBe(200);
  return phone;
}

/** A school with one card, its parent bound through the API, and that parent's card at the bank. */
export async function boundCard(
  stack: TopUpStack,
  options: { bankBalanceFen?: number; school?: School; lowBalanceThresholdFen?: number } = {},
): Promise<BoundFixture> {
  const school = options.school ?? (await createSchool(stack.db));
  const [cardNo] = await createCards(stack.db, school, 1);
  const phone = randomPhone();
  const bankCardToken = `tok_${randomBytes(8).toString('hex')}`;
  const opened = await stack.bank.call('POST', '/sim/cards', {
    cardToken: bankCardToken,
    balanceFen: options.bankBalanceFen ?? 100_000,
  });
  expect(opened.status).toBe(201);
  const bound = await stack.app.inject({
    method: 'PUT',
    url: `/api/parent-bindings/${cardNo}`,
    payload: {
      guardianPhone: phone,
      guardianName: '家长',
      bankCardToken,
      bankCardLast4: '1234',
      lowBalanceThresholdFen: options.lowBalanceThresholdFen ?? 2_000,
      topUpAmountFen: 5_000,
    },
  });
  expect(bound.statusCode, bound.body).toBe(200);
  return { school, cardNo: cardNo!, phone, bankCardToken };
}

export async function startTopUp(
  stack: TopUpStack,
  fixture: BoundFixture,
  options: { requestId?: string; amountFen?: number; replyTimeoutS?: number; trigger?: string } = {},
): Promise<string> {
  const response = await stack.app.inject({
    method: 'POST',
    url: '/api/bank-top-ups',
    payload: {
      cardNo: fixture.cardNo,
      requestId: options.requestId ?? `req-${randomBytes(4).toString('hex')}`,
      trigger: options.trigger ?? 'parent_request',
      amountFen: options.amountFen ?? 5_000,
      replyTimeoutS: options.replyTimeoutS ?? 60,
    },
  });
  expect([200, 202], response.body).toContain(response.statusCode);
  return response.json().workflowId as string;
}

/** The one-time code in the request SMS the parent got. */
export async function codeSentTo(stack: TopUpStack, phone: string): Promise<string> {
  const message = await stack.twilio.waitForMessage((m) => m.to === phone && /回复“Y \d{6}”/.test(m.body));
  return /Y (\d{6})/.exec(message.body)![1]!;
}

/** Money at the bank and in the ledger for one fixture: what "exactly once" is checked against. */
export async function movements(stack: TopUpStack, fixture: BoundFixture, workflowId: string) {
  const bankCard = await stack.bank.call('GET', `/sim/cards/${fixture.bankCardToken}`);
  const all = await stack.bank.call('GET', '/v1/debits');
  const debits = (all.body.debits as Array<{ reference: string; debitId: string }>).filter(
    (d) => d.reference === workflowId,
  );
  const refunds = (all.body.refunds as Array<{ debitId: string }>).filter((r) =>
    debits.some((d) => d.debitId === r.debitId),
  );
  const { rows } = await stack.db.query<{ n: number; total: string | null }>(
    `select count(*)::int as n, sum(amount_fen)::text as total from ledger_transactions
      where card_no = $1 and kind = 'top_up'`,
    [fixture.cardNo],
  );
  const { rows: wallet } = await stack.db.query<{ balance_fen: bigint }>(
    `select a.balance_fen from cards c join accounts a on a.cardholder_id = c.cardholder_id and a.wallet_kind = 'main'
      where c.card_no = $1`,
    [fixture.cardNo],
  );
  return {
    bankBalanceFen: bankCard.body.balanceFen as number,
    bankDebits: debits.length,
    bankRefunds: refunds.length,
    ledgerTopUps: rows[0]!.n,
    ledgerTopUpFen: Number(rows[0]!.total ?? 0),
    walletFen: Number(wallet[0]!.balance_fen),
  };
}

export async function topUpRecord(stack: TopUpStack, workflowId: string) {
  const { rows } = await stack.db.query(
    `select status, bank_debit_id, bank_refund_id, ledger_transaction_id::text, bank_confirmed_at from bank_top_ups where workflow_id = $1`,
    [workflowId],
  );
  return rows[0] as
    | {
        status: string;
        bank_debit_id: string | null;
        bank_refund_id: string | null;
        ledger_transaction_id: string | null;
        bank_confirmed_at: Date | null;
      }
    | undefined;
}

export async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() - started > timeoutMs) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
