// Every ledger write other than the online purchase, as scenario tables: one row per operation with its
// expected status and outcome code, run in order against the same cards (each row sees what the rows
// before it left), then the balances the row should leave.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { businessDate } from '../../core/ledger/calendar.ts';
import { runCommand } from '../../core/ledger/command.ts';
import { subsidyClearingCommand } from '../../core/ledger/operations/subsidy.ts';
import { stackConfig } from '../support/env.ts';
import {
  createCards,
  createCategory,
  createSchool,
  fund,
  ledgerRowCounts,
  scopedLedgerCheck,
  uniqueId,
  walletBalances,
  type School,
} from './fixture.ts';

let app: FastifyInstance;
let school: School;
let category: number;
const cards: Record<string, string> = {};
/** Transaction ids that later rows refer to, by the name of the row that made them. */
const saved: Record<string, number> = {};

beforeAll(async () => {
  app = await buildApp(stackConfig(), pino({ level: 'warn' }));
  await app.ready();
  school = await createSchool(app.db);
  category = await createCategory(app.db, { perTxLimitFen: 5000, dailyLimitFen: 8000, dailyMaxFen: 8000 });
  for (const name of ['alice', 'bob', 'carol', 'spender'])
    cards[name] = (await createCards(app.db, school, 1, { categoryId: category }))[0]!;
  cards.frozen = (await createCards(app.db, school, 1, { categoryId: category, status: 'frozen' }))[0]!;
  cards.cancelled = (await createCards(app.db, school, 1, { categoryId: category, status: 'cancelled' }))[0]!;
  await fund(app.db, school, [cards.frozen, cards.cancelled], 1_000n);
});
afterAll(async () => {
  await app?.close();
});

type Operation =
  | 'top-ups'
  | 'transfers'
  | 'refunds'
  | 'reversals'
  | 'card-deposits'
  | 'purchases'
  | 'subsidy-batches'
  | 'subsidy-clearings'
  | 'offline-uploads';

const post = (operation: Operation, body: object) =>
  app.inject({ method: 'POST', url: `/api/ledger/${operation}`, payload: body });

const outcomeOf = (response: LightMyRequestResponse) =>
  response.statusCode === 200 ? response.json().outcome : response.json().error?.code;

interface Row {
  name: string;
  operation: Operation;
  body: () => object;
  status: number;
  code: string;
  /** Balances (fen) by card name and wallet after the row. */
  after?: Record<string, Record<string, number>>;
  /** Keeps the transaction id of the answer under this name. */
  save?: string;
}

let key = 0;
const requestId = () => `ops-${school.schoolId}-${++key}`;
const op = { operatorId: 'cashier-1' };
const card = (name: string) => cards[name] ?? name;
const topUp = (name: string, amountFen: number, method = 'cash') => ({
  requestId: requestId(),
  cardNo: card(name),
  amountFen,
  method,
  ...op,
});
const transfer = (from: [string, string], to: [string, string], amountFen: number) => ({
  requestId: requestId(),
  from: { cardNo: card(from[0]), wallet: from[1] },
  to: { cardNo: card(to[0]), wallet: to[1] },
  amountFen,
  ...op,
});
const refund = (of: string, amountFen: number) => ({
  requestId: requestId(),
  transactionId: saved[of] ?? 999_999_999,
  amountFen,
  reason: '退菜',
  ...op,
});
const reversal = (of: string) => ({
  requestId: requestId(),
  transactionId: saved[of] ?? 999_999_999,
  reason: '操作失误',
  ...op,
});
const deposit = (name: string, amountFen: number, direction: 'in' | 'out') => ({
  requestId: requestId(),
  cardNo: card(name),
  amountFen,
  direction,
  ...op,
});
let seq = 0;
const purchase = (name: string, amountFen: number) => ({
  terminalId: school.pos,
  terminalSeq: ++seq,
  cardNo: card(name),
  deduction: { mode: 'amount', amountFen },
});

async function runRows(rows: Row[]): Promise<void> {
  for (const row of rows) {
    const response = await post(row.operation, row.body());
    expect(`${row.name}: ${response.statusCode} ${outcomeOf(response)}`, response.body).toBe(
      `${row.name}: ${row.status} ${row.code}`,
    );
    if (row.save) saved[row.save] = response.json().transactionId;
    for (const [name, wallets] of Object.entries(row.after ?? {})) {
      const now = await walletBalances(app.db, card(name));
      for (const [wallet, fen] of Object.entries(wallets))
        expect(`${row.name}: ${name}.${wallet} = ${now[wallet]}`).toBe(
          `${row.name}: ${name}.${wallet} = ${fen}`,
        );
    }
  }
}

describe('top-up, transfer, deposit: one row per operation', () => {
  // prettier-ignore
  const rows: Row[] = [
    { name: 'cash top-up', operation: 'top-ups', body: () => topUp('alice', 5000), status: 200, code: 'ok', after: { alice: { main: 5000 } }, save: 'alice-top-up' },
    { name: 'bank top-up', operation: 'top-ups', body: () => topUp('alice', 700, 'bank'), status: 200, code: 'ok', after: { alice: { main: 5700 } }, save: 'alice-bank-top-up' },
    { name: 'top-up of a frozen card (money in is allowed)', operation: 'top-ups', body: () => topUp('frozen', 100), status: 200, code: 'ok', after: { frozen: { main: 1100 } } },
    { name: 'top-up of a cancelled card', operation: 'top-ups', body: () => topUp('cancelled', 100), status: 422, code: 'card_is_cancelled', after: { cancelled: { main: 1000 } } },
    { name: 'top-up of an unknown card', operation: 'top-ups', body: () => topUp('ABCDEF0000000001', 100), status: 404, code: 'card_not_found' },
    { name: 'transfer main → own subsidy', operation: 'transfers', body: () => transfer(['alice', 'main'], ['alice', 'subsidy'], 200), status: 200, code: 'ok', after: { alice: { main: 5500, subsidy: 200 } } },
    { name: 'transfer to another holder', operation: 'transfers', body: () => transfer(['alice', 'main'], ['bob', 'main'], 1500), status: 200, code: 'ok', after: { alice: { main: 4000 }, bob: { main: 1500 } } },
    { name: 'transfer of more than the balance', operation: 'transfers', body: () => transfer(['bob', 'main'], ['alice', 'main'], 1501), status: 422, code: 'insufficient_balance', after: { bob: { main: 1500 }, alice: { main: 4000 } } },
    { name: 'transfer of exactly the balance', operation: 'transfers', body: () => transfer(['bob', 'main'], ['carol', 'main'], 1500), status: 200, code: 'ok', after: { bob: { main: 0 }, carol: { main: 1500 } } },
    { name: 'transfer to the same wallet', operation: 'transfers', body: () => transfer(['alice', 'main'], ['alice', 'main'], 1), status: 422, code: 'transfer_to_same_wallet' },
    { name: 'transfer from a frozen card', operation: 'transfers', body: () => transfer(['frozen', 'main'], ['alice', 'main'], 1), status: 422, code: 'card_is_frozen' },
    { name: 'transfer to a cancelled card', operation: 'transfers', body: () => transfer(['alice', 'main'], ['cancelled', 'main'], 1), status: 422, code: 'card_is_cancelled' },
    { name: 'transfer to an unknown card', operation: 'transfers', body: () => transfer(['alice', 'main'], ['ABCDEF0000000001', 'main'], 1), status: 404, code: 'card_not_found' },
    { name: 'card deposit paid in', operation: 'card-deposits', body: () => deposit('carol', 2000, 'in'), status: 200, code: 'ok', after: { carol: { deposit: 2000, main: 1500 } } },
    { name: 'part of the deposit paid back', operation: 'card-deposits', body: () => deposit('carol', 500, 'out'), status: 200, code: 'ok', after: { carol: { deposit: 1500 } } },
    { name: 'more deposit paid back than held', operation: 'card-deposits', body: () => deposit('carol', 1501, 'out'), status: 422, code: 'insufficient_balance', after: { carol: { deposit: 1500 } } },
    { name: 'deposit paid in on a cancelled card', operation: 'card-deposits', body: () => deposit('cancelled', 100, 'in'), status: 422, code: 'card_is_cancelled' },
    { name: 'deposit of an unknown card paid back', operation: 'card-deposits', body: () => deposit('ABCDEF0000000001', 100, 'out'), status: 404, code: 'card_not_found' },
  ];
  test('rows in order', () => runRows(rows));
});

describe('refund and reversal: one row per operation', () => {
  // prettier-ignore
  const rows: Row[] = [
    { name: 'top-up for spending', operation: 'top-ups', body: () => topUp('spender', 10_000), status: 200, code: 'ok', save: 'spender-top-up' },
    { name: 'a purchase', operation: 'purchases', body: () => purchase('spender', 3000), status: 200, code: 'ok', after: { spender: { main: 7000 } }, save: 'meal' },
    { name: 'part of it refunded', operation: 'refunds', body: () => refund('meal', 1000), status: 200, code: 'ok', after: { spender: { main: 8000 } }, save: 'meal-refund-1' },
    { name: 'the rest refunded', operation: 'refunds', body: () => refund('meal', 2000), status: 200, code: 'ok', after: { spender: { main: 10_000 } }, save: 'meal-refund-2' },
    { name: 'one fen more refunded', operation: 'refunds', body: () => refund('meal', 1), status: 422, code: 'refund_exceeds_purchase', after: { spender: { main: 10_000 } } },
    { name: 'the purchase reversed while refunds stand', operation: 'reversals', body: () => reversal('meal'), status: 409, code: 'transaction_has_refunds' },
    { name: 'a refund reversed', operation: 'reversals', body: () => reversal('meal-refund-2'), status: 200, code: 'ok', after: { spender: { main: 8000 } }, save: 'refund-2-reversal' },
    { name: 'a reversal reversed', operation: 'reversals', body: () => reversal('refund-2-reversal'), status: 422, code: 'transaction_is_a_reversal' },
    { name: 'the same refund reversed again', operation: 'reversals', body: () => reversal('meal-refund-2'), status: 409, code: 'transaction_already_reversed' },
    { name: 'the reversed refund no longer counts: refunded again', operation: 'refunds', body: () => refund('meal', 500), status: 200, code: 'ok', after: { spender: { main: 8500 } } },
    { name: 'a top-up refunded', operation: 'refunds', body: () => refund('spender-top-up', 100), status: 422, code: 'transaction_is_not_refundable' },
    { name: 'an unknown transaction refunded', operation: 'refunds', body: () => refund('nothing', 100), status: 404, code: 'transaction_not_found' },
    { name: 'an unknown transaction reversed', operation: 'reversals', body: () => reversal('nothing'), status: 404, code: 'transaction_not_found' },
    { name: 'a second purchase', operation: 'purchases', body: () => purchase('spender', 4000), status: 200, code: 'ok', after: { spender: { main: 4500 } }, save: 'meal-2' },
    { name: 'the second purchase reversed', operation: 'reversals', body: () => reversal('meal-2'), status: 200, code: 'ok', after: { spender: { main: 8500 } } },
    { name: 'a reversed purchase refunded', operation: 'refunds', body: () => refund('meal-2', 100), status: 409, code: 'transaction_already_reversed' },
    { name: 'the top-up reversed after most of it is spent', operation: 'reversals', body: () => reversal('spender-top-up'), status: 422, code: 'insufficient_balance', after: { spender: { main: 8500 } } },
    { name: 'a top-up reversed while the money is there', operation: 'reversals', body: () => reversal('alice-bank-top-up'), status: 200, code: 'ok', after: { alice: { main: 4000 - 700 } } },
  ];
  test('rows in order', () => runRows(rows));
});

describe('daily allowance', () => {
  test('a reversed or refunded purchase gives its amount back to the day’s spending', async () => {
    const [payer] = await createCards(app.db, school, 1, { categoryId: category });
    await fund(app.db, school, [payer!], 50_000n);
    const buy = (amountFen: number) => post('purchases', purchase(payer!, amountFen));
    // The category caps a day at 8,000 fen (limit and hard cap alike).
    const first = await buy(5000);
    expect(outcomeOf(first)).toBe('ok');
    expect(outcomeOf(await buy(3001))).toBe('pin_required');
    expect(
      outcomeOf(await post('reversals', { ...reversal('x'), transactionId: first.json().transactionId })),
    ).toBe('ok');
    const spent = async () =>
      (await app.db.query<{ spent_fen: bigint }>(`select spent_fen from cards where card_no = $1`, [payer]))
        .rows[0]!.spent_fen;
    expect(await spent()).toBe(0n);
    const second = await buy(5000);
    expect(outcomeOf(second)).toBe('ok');
    expect(outcomeOf(await buy(3000))).toBe('ok');
    expect(outcomeOf(await buy(1))).toBe('pin_required');
    expect(
      outcomeOf(await post('refunds', { ...refund('x', 2000), transactionId: second.json().transactionId })),
    ).toBe('ok');
    expect(await spent()).toBe(6000n);
    expect(outcomeOf(await buy(2000))).toBe('ok');
    expect(await spent()).toBe(8000n);
  });
});

describe('subsidies: issue by category or batch, expiry and clearing', () => {
  let subsidyCategory: number;
  const holders: Record<string, string> = {};
  const batchCode = uniqueId('B');
  const today = businessDate(new Date());
  const issue = (batchId: string, amountFen: number, target: object, unitId = school.schoolId) => ({
    batchId,
    unitId,
    amountFen,
    target,
    expiresOn: today,
    ...op,
  });
  const clear = (batchId: string) => ({ requestId: requestId(), batchId, ...op });
  const clearAfterExpiry = (batchId: string) =>
    runCommand(
      app.db,
      subsidyClearingCommand({
        requestKey: `subsidy-clearing:${requestId()}`,
        batchId,
        operatorId: 'finance-1',
        at: new Date(Date.now() + 24 * 60 * 60 * 1000),
      }),
    );
  const ids = { byCategory: uniqueId('SUB'), byBatch: uniqueId('SUB'), later: uniqueId('SUB') };

  beforeAll(async () => {
    subsidyCategory = await createCategory(app.db, {});
    const [x, y] = await createCards(app.db, school, 2, { categoryId: subsidyCategory });
    const [z] = await createCards(app.db, school, 1, { categoryId: category, batchCode });
    Object.assign(holders, { x, y, z });
    Object.assign(cards, holders);
  });

  test('rows in order', async () => {
    // prettier-ignore
    const rows: Row[] = [
      { name: 'issue to a card category', operation: 'subsidy-batches', body: () => issue(ids.byCategory, 3000, { categoryIds: [subsidyCategory] }), status: 200, code: 'ok', after: { x: { subsidy: 3000 }, y: { subsidy: 3000 } } },
      { name: 'issue to a cardholder batch', operation: 'subsidy-batches', body: () => issue(ids.byBatch, 1200, { batchCode }), status: 200, code: 'ok', after: { z: { subsidy: 1200 } } },
      { name: 'the same batch again (a repeat)', operation: 'subsidy-batches', body: () => issue(ids.byBatch, 1200, { batchCode }), status: 200, code: 'ok', after: { z: { subsidy: 1200 } } },
      { name: 'the same batch id with another amount', operation: 'subsidy-batches', body: () => issue(ids.byBatch, 1300, { batchCode }), status: 409, code: 'exists_with_different_amount', after: { z: { subsidy: 1200 } } },
      { name: 'the same batch id for other cardholders', operation: 'subsidy-batches', body: () => issue(ids.byBatch, 1200, { categoryIds: [subsidyCategory] }), status: 409, code: 'exists_with_different_content' },
      { name: 'a batch that selects nobody', operation: 'subsidy-batches', body: () => issue(uniqueId('SUB'), 100, { batchCode: 'NOBODY-HERE' }), status: 422, code: 'subsidy_batch_targets_nobody' },
      { name: 'a batch of an unknown unit', operation: 'subsidy-batches', body: () => issue(uniqueId('SUB'), 100, { batchCode }, 'NO-SUCH-UNIT'), status: 404, code: 'unit_not_found' },
      { name: 'spending takes the subsidy first', operation: 'purchases', body: () => purchase('x', 1000), status: 200, code: 'ok', after: { x: { subsidy: 2000, main: 0 } } },
      { name: 'a later batch to the same category', operation: 'subsidy-batches', body: () => issue(ids.later, 500, { categoryIds: [subsidyCategory] }), status: 200, code: 'ok', after: { x: { subsidy: 2500 }, y: { subsidy: 3500 } } },
      { name: 'clearing before expiry', operation: 'subsidy-clearings', body: () => clear(ids.byCategory), status: 422, code: 'subsidy_batch_has_not_expired' },
      { name: 'clearing an unknown batch', operation: 'subsidy-clearings', body: () => clear(uniqueId('SUB')), status: 404, code: 'subsidy_batch_not_found' },
    ];
    await runRows(rows);

    // After expiry, what is left of each grant of the first batch goes back: x spent 1,000 of it, and the
    // later batch's 500 stays.
    const cleared = await clearAfterExpiry(ids.byCategory);
    expect(cleared.response).toMatchObject({ outcome: 'ok', clearedCount: 2, clearedTotalFen: 2000 + 3000 });
    expect((await walletBalances(app.db, holders.x!)).subsidy).toBe(500n);
    expect((await walletBalances(app.db, holders.y!)).subsidy).toBe(500n);
    const again = await clearAfterExpiry(ids.byCategory);
    expect(again.response.outcome).toBe('subsidy_batch_already_cleared');
    const { rows: batch } = await app.db.query(
      `select issued_count, issued_total_fen, cleared_total_fen from subsidy_batches where batch_id = $1`,
      [ids.byCategory],
    );
    expect(batch[0]).toEqual({ issued_count: 2, issued_total_fen: 6000n, cleared_total_fen: 5000n });
  });

  test('a batch cannot be issued already expired', async () => {
    const counts = await ledgerRowCounts(app.db, school);
    const response = await post('subsidy-batches', {
      ...issue(uniqueId('SUB'), 100, { batchCode }),
      expiresOn: '2020-01-01',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('expiresOn');
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
  });
});

describe('idempotency of every operation: a repeat returns the first answer and changes nothing', () => {
  const makers: Array<[Operation, () => object]> = [
    ['top-ups', () => topUp('alice', 300)],
    ['transfers', () => transfer(['alice', 'main'], ['alice', 'subsidy'], 10)],
    ['card-deposits', () => deposit('alice', 100, 'in')],
    ['refunds', () => refund('meal', 100)],
    ['reversals', () => reversal('alice-top-up-2')],
  ];
  beforeAll(async () => {
    saved['alice-top-up-2'] = (await post('top-ups', topUp('alice', 50))).json().transactionId;
  });
  test.each(makers)('%s', async (operation, make) => {
    const body = make();
    const first = await post(operation, body);
    expect(first.statusCode, first.body).toBe(200);
    const counts = await ledgerRowCounts(app.db, school);
    const again = await post(operation, body);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect({ ...again.json(), replayed: false }).toEqual(first.json());
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
    if ('amountFen' in body) {
      const other = await post(operation, { ...body, amountFen: (body.amountFen as number) + 1 });
      expect(other.statusCode).toBe(409);
      expect(other.json().error.code).toBe('exists_with_different_amount');
    }
    const otherReason = await post(operation, { ...body, operatorId: 'someone-else' });
    expect(otherReason.statusCode).toBe(409);
    expect(otherReason.json().error.code).toBe('exists_with_different_content');
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
  });
});

describe('bad input on every operation: 400 naming the field, nothing written', () => {
  const cases: Array<[string, Operation, () => object, string]> = [
    ['top-up: negative amount', 'top-ups', () => ({ ...topUp('alice', 1), amountFen: -100 }), 'amountFen'],
    ['top-up: zero amount', 'top-ups', () => ({ ...topUp('alice', 1), amountFen: 0 }), 'amountFen'],
    [
      'top-up: absurd amount',
      'top-ups',
      () => ({ ...topUp('alice', 1), amountFen: 10_000_001 }),
      'amountFen',
    ],
    ['top-up: amount as text', 'top-ups', () => ({ ...topUp('alice', 1), amountFen: '100' }), 'amountFen'],
    ['top-up: fractional amount', 'top-ups', () => ({ ...topUp('alice', 1), amountFen: 0.5 }), 'amountFen'],
    ['top-up: missing key', 'top-ups', () => ({ ...topUp('alice', 1), requestId: undefined }), 'requestId'],
    ['top-up: unknown method', 'top-ups', () => ({ ...topUp('alice', 1), method: 'gold' }), 'method'],
    [
      'transfer: wallet unknown',
      'transfers',
      () => ({ ...transfer(['alice', 'main'], ['bob', 'deposit'], 1) }),
      'wallet',
    ],
    [
      'transfer: missing to',
      'transfers',
      () => ({ ...transfer(['alice', 'main'], ['bob', 'main'], 1), to: undefined }),
      'to',
    ],
    [
      'refund: transaction id as text',
      'refunds',
      () => ({ ...refund('meal', 1), transactionId: 'abc' }),
      'transactionId',
    ],
    ['refund: negative amount', 'refunds', () => ({ ...refund('meal', 1), amountFen: -1 }), 'amountFen'],
    ['reversal: missing reason', 'reversals', () => ({ ...reversal('meal'), reason: undefined }), 'reason'],
    [
      'deposit: unknown direction',
      'card-deposits',
      () => ({ ...deposit('alice', 1, 'in'), direction: 'sideways' }),
      'direction',
    ],
    [
      'subsidy: impossible date',
      'subsidy-batches',
      () => ({
        batchId: uniqueId('SUB'),
        unitId: school.schoolId,
        amountFen: 1,
        target: { batchCode: 'X' },
        expiresOn: '2099-13-45',
        ...op,
      }),
      'expiresOn',
    ],
    [
      'subsidy: category out of range',
      'subsidy-batches',
      () => ({
        batchId: uniqueId('SUB'),
        unitId: school.schoolId,
        amountFen: 1,
        target: { categoryIds: [121] },
        expiresOn: '2099-01-01',
        ...op,
      }),
      'categoryIds',
    ],
    ['clearing: missing batch', 'subsidy-clearings', () => ({ requestId: requestId(), ...op }), 'batchId'],
    [
      'upload: no records',
      'offline-uploads',
      () => ({ uploadId: requestId(), terminalId: school.pos, records: [] }),
      'records',
    ],
  ];
  test.each(cases)('%s', async (_name, operation, make, field) => {
    const counts = await ledgerRowCounts(app.db, school);
    const response = await post(operation, make());
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error.message).toContain(field);
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
  });

  test('malformed JSON on a top-up', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/ledger/top-ups',
      headers: { 'content-type': 'application/json' },
      payload: '{"requestId": "x", "amountFen": 1',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('malformed_json');
  });
});

test('after all of it, every account of this school recomputes to its stored balance', async () => {
  expect(await scopedLedgerCheck(app.db, school)).toEqual({
    differences: [],
    unbalanced: [],
    belowFloor: [],
  });
});
