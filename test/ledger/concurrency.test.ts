import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { checkLedger } from '../../core/ledger/check.ts';
import { executePurchases } from '../../core/ledger/purchase/execute.ts';
import { createPurchasePool, type PurchasePool } from '../../core/ledger/store/purchase-batch.ts';
import { stackConfig } from '../support/env.ts';
import { createCards, createSchool, fund, walletBalances, type School } from './fixture.ts';

let app: FastifyInstance;
let school: School;
/** Connections like the API's purchase batches', as many as the racing transactions can use. */
let purchaseDb: PurchasePool;

beforeAll(async () => {
  app = await buildApp(stackConfig(), pino({ level: 'warn' }));
  await app.ready();
  school = await createSchool(app.db);
  purchaseDb = createPurchasePool(stackConfig().DATABASE_URL, 20);
});
afterAll(async () => {
  await purchaseDb?.end();
  await app?.close();
});

function post(cardNo: string, seq: number, amountFen: number) {
  return app.inject({
    method: 'POST',
    url: '/api/ledger/purchases',
    payload: { terminalId: school.pos, terminalSeq: seq, cardNo, deduction: { mode: 'amount', amountFen } },
  });
}

test('50 simultaneous purchases on one wallet through the API never overspend', async () => {
  const [card] = await createCards(app.db, school, 1);
  await fund(app.db, school, [card!], 1_000n);
  const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => post(card!, 10_000 + i, 100)));
  const codes = responses.map((r) => (r.statusCode === 200 ? r.json().outcome : r.json().error.code));
  expect(codes.filter((c) => c === 'ok')).toHaveLength(10);
  expect(codes.filter((c) => c === 'insufficient_balance')).toHaveLength(40);
  expect((await walletBalances(app.db, card!)).main).toBe(0n);
});

test('50 simultaneous purchases on one wallet, each in its own database transaction, never overspend', async () => {
  // Past the batcher: 50 transactions racing for the same rows, so the row locks are what is tested.
  const [card] = await createCards(app.db, school, 1);
  await fund(app.db, school, [card!], 1_000n);
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      executePurchases(purchaseDb, [
        {
          requestKey: `pos:${school.pos}:${20_000 + i}`,
          terminalId: school.pos,
          terminalSeq: 20_000 + i,
          cardNo: card!,
          deduction: { mode: 'amount', amountFen: 70n },
          at: new Date(),
        },
      ]),
    ),
  );
  const codes = answers.map((a) => a[0]!.response.outcome);
  expect(codes.filter((c) => c === 'ok')).toHaveLength(14);
  expect(codes.filter((c) => c === 'insufficient_balance')).toHaveLength(36);
  expect((await walletBalances(app.db, card!)).main).toBe(20n);
});

test('50 simultaneous purchases on one wallet over the eight payable lanes never overspend', async () => {
  // Each batch slot credits its own lane of the canteen's payable; the wallet is still one locked row.
  const [card] = await createCards(app.db, school, 1);
  await fund(app.db, school, [card!], 1_000n);
  const payableBefore = await payableLanes(school.canteenId);
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      executePurchases(
        purchaseDb,
        [
          {
            requestKey: `pos:${school.pos}:${25_000 + i}`,
            terminalId: school.pos,
            terminalSeq: 25_000 + i,
            cardNo: card!,
            deduction: { mode: 'amount', amountFen: 70n },
            at: new Date(),
          },
        ],
        i % 8,
      ),
    ),
  );
  const codes = answers.map((a) => a[0]!.response.outcome);
  expect(codes.filter((c) => c === 'ok')).toHaveLength(14);
  expect((await walletBalances(app.db, card!)).main).toBe(20n);
  const payableAfter = await payableLanes(school.canteenId);
  expect(payableAfter.map((lane) => lane.lane)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  const taken = payableAfter.reduce(
    (sum, lane, i) => sum + lane.balanceFen - payableBefore[i]!.balanceFen,
    0n,
  );
  expect(taken).toBe(14n * 70n);
  expect((await checkLedger(app.db)).differences).toEqual([]);
});

async function payableLanes(merchantId: string) {
  const { rows } = await app.db.query<{ lane: number; balanceFen: bigint }>(
    `select lane, balance_fen as "balanceFen" from accounts
      where merchant_id = $1 and subject_code = '2101' order by lane`,
    [merchantId],
  );
  return rows;
}

test('1,000 concurrent purchases on different wallets all succeed, and the books still balance', async () => {
  const cards = await createCards(app.db, school, 1_000);
  await fund(app.db, school, cards, 500n);
  const responses = await Promise.all(cards.map((card, i) => post(card, 30_000 + i, 123)));
  expect(responses.map((r) => r.statusCode).filter((s) => s !== 200)).toEqual([]);
  const { rows } = await app.db.query<{ total: bigint }>(
    `select sum(a.balance_fen)::bigint as total from cards c join accounts a on a.cardholder_id = c.cardholder_id and a.wallet_kind = 'main' where c.card_no = any($1::text[])`,
    [cards],
  );
  expect(rows[0]!.total).toBe(BigInt(1_000 * (500 - 123)));
  const check = await checkLedger(app.db);
  expect(check.differences).toEqual([]);
  expect(check.unbalancedTransactions).toEqual([]);
});

describe('refunds and reversals racing on one purchase', () => {
  const write = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });
  const codeOf = (r: { statusCode: number; json: () => { outcome?: string; error?: { code: string } } }) =>
    r.statusCode === 200 ? r.json().outcome : r.json().error?.code;
  let n = 0;
  const base = () => ({ requestId: `race-${school.schoolId}-${++n}`, reason: '并发', operatorId: 'race' });

  test('20 simultaneous partial refunds never give back more than the purchase', async () => {
    const [card] = await createCards(app.db, school, 1);
    await fund(app.db, school, [card!], 5_000n);
    const bought = await post(card!, 50_000 + n, 1_000);
    const transactionId = bought.json().transactionId;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        write('/api/ledger/refunds', { ...base(), transactionId, amountFen: 100 }),
      ),
    );
    const codes = answers.map(codeOf);
    expect(codes.filter((c) => c === 'ok')).toHaveLength(10);
    expect(codes.filter((c) => c === 'refund_exceeds_purchase')).toHaveLength(10);
    expect((await walletBalances(app.db, card!)).main).toBe(5_000n);
  });

  test('a full refund and a reversal at the same time: exactly one of them happens', async () => {
    const [card] = await createCards(app.db, school, 1);
    await fund(app.db, school, [card!], 5_000n);
    for (let round = 0; round < 5; round++) {
      const bought = await post(card!, 60_000 + round, 700);
      const transactionId = bought.json().transactionId;
      const answers = await Promise.all([
        write('/api/ledger/refunds', { ...base(), transactionId, amountFen: 700 }),
        write('/api/ledger/reversals', { ...base(), transactionId }),
      ]);
      expect(answers.map(codeOf).filter((c) => c === 'ok')).toHaveLength(1);
      expect((await walletBalances(app.db, card!)).main).toBe(5_000n);
    }
  });
});
