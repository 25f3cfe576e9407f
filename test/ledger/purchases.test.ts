import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { checkLedger } from '../../core/ledger/check.ts';
import { stackConfig } from '../support/env.ts';
import {
  createCards,
  createCategory,
  createSchool,
  fund,
  ledgerRowCounts,
  walletBalances,
  type School,
} from './fixture.ts';

let app: FastifyInstance;
let school: School;
let seq = 0;
const cards: Record<string, string> = {};

beforeAll(async () => {
  app = await buildApp(stackConfig(), pino({ level: 'warn' }));
  await app.ready();
  school = await createSchool(app.db);
  // Categories of this suite's own: the student one with a hard daily cap, a temporary one barred at a POS.
  const student = await createCategory(app.db, {
    perTxLimitFen: 5000,
    dailyLimitFen: 10_000,
    dailyMaxFen: 30_000,
  });
  const temporary = await createCategory(app.db, {
    perTxLimitFen: 3000,
    dailyLimitFen: 5000,
    barredAt: [school.barredPos],
  });
  const make = async (name: string, spec: Parameters<typeof createCards>[3] = {}) => {
    cards[name] = (await createCards(app.db, school, 1, { categoryId: student, ...spec }))[0]!;
  };
  await make('rich');
  await make('poor');
  await make('split');
  await make('frozen', { status: 'frozen' });
  await make('blacklisted', { status: 'blacklisted' });
  await make('cancelled', { status: 'cancelled' });
  await make('expired', { expiresOn: '2020-01-01' });
  await make('temporary', { categoryId: temporary });
  await make('pin', { pin: '123456' });
  await fund(
    app.db,
    school,
    [
      cards.rich!,
      cards.frozen!,
      cards.blacklisted!,
      cards.cancelled!,
      cards.expired!,
      cards.temporary!,
      cards.pin!,
    ],
    100_000n,
  );
  await fund(app.db, school, [cards.poor!], 300n);
  await fund(app.db, school, [cards.split!], 400n, 'main');
  await fund(app.db, school, [cards.split!], 250n, 'subsidy');
});
afterAll(async () => {
  await app?.close();
});

function purchase(
  card: string,
  deduction: object,
  extra: { terminal?: string; pin?: string; seq?: number } = {},
) {
  return app.inject({
    method: 'POST',
    url: '/api/ledger/purchases',
    payload: {
      terminalId: extra.terminal ?? school.pos,
      terminalSeq: extra.seq ?? ++seq,
      cardNo: cards[card] ?? card,
      deduction,
      ...(extra.pin ? { pin: extra.pin } : {}),
    },
  });
}

const amount = (amountFen: number) => ({ mode: 'amount', amountFen });

describe('online purchases: one row per operation, with its expected outcome', () => {
  // Rows run in order against the same cards: each row's balance is what the rows before it left.
  const scenarios: Array<
    [string, string, object, { terminal?: string; pin?: string }, number, string, Record<string, number>?]
  > = [
    ['an amount typed in', 'rich', amount(1250), {}, 200, 'ok', { main: 98_750 }],
    ['the fixed price of the terminal', 'rich', { mode: 'fixed' }, {}, 200, 'ok', { main: 97_950 }],
    [
      'menu items',
      'rich',
      {
        mode: 'menu',
        lines: [
          { itemCode: 'RICE', quantity: 2 },
          { itemCode: 'PORK', quantity: 1 },
        ],
      },
      {},
      200,
      'ok',
      { main: 96_550 },
    ],
    ['portions', 'rich', { mode: 'portions', portions: 3 }, {}, 200, 'ok', { main: 95_500 }],
    [
      'a managed stall (its takings go to the canteen)',
      'rich',
      amount(500),
      { terminal: 'stallPos' },
      200,
      'ok',
      { main: 95_000 },
    ],
    ['subsidy first, then main', 'split', amount(600), {}, 200, 'ok', { subsidy: 0, main: 50 }],
    ['more than the balance', 'poor', amount(301), {}, 422, 'insufficient_balance', { main: 300 }],
    ['exactly the balance', 'poor', amount(300), {}, 200, 'ok', { main: 0 }],
    ['a frozen card', 'frozen', amount(100), {}, 422, 'card_is_frozen'],
    ['a blacklisted card', 'blacklisted', amount(100), {}, 422, 'card_is_blacklisted'],
    ['a cancelled card', 'cancelled', amount(100), {}, 422, 'card_is_cancelled'],
    ['an expired card', 'expired', amount(100), {}, 422, 'card_has_expired'],
    [
      'a category barred at this terminal',
      'temporary',
      amount(100),
      { terminal: 'barredPos' },
      422,
      'card_is_barred_at_terminal',
    ],
    [
      'above the per-transaction limit without PIN',
      'pin',
      amount(5001),
      {},
      422,
      'pin_required',
      { main: 100_000 },
    ],
    ['above the limit with a wrong PIN', 'pin', amount(5001), { pin: '000000' }, 422, 'pin_is_wrong'],
    ['above the limit with the PIN', 'pin', amount(5001), { pin: '123456' }, 200, 'ok', { main: 94_999 }],
    ['above the daily limit without PIN', 'pin', amount(5000), {}, 422, 'pin_required'],
    [
      'up to the hard daily cap with the PIN',
      'pin',
      amount(20_000),
      { pin: '123456' },
      200,
      'ok',
      { main: 74_999 },
    ],
    [
      'beyond the hard daily cap even with the PIN',
      'pin',
      amount(5000),
      { pin: '123456' },
      422,
      'daily_limit_exceeded',
      { main: 74_999 },
    ],
    ['a disabled terminal', 'rich', amount(100), { terminal: 'disabledPos' }, 422, 'terminal_is_disabled'],
    ['a gate terminal', 'rich', amount(100), { terminal: 'gate' }, 422, 'terminal_takes_no_payments'],
    ['an unknown card', 'ABCDEF0123456789', amount(100), {}, 404, 'card_not_found'],
    ['an unknown terminal', 'rich', amount(100), { terminal: 'NO-SUCH-POS' }, 404, 'terminal_not_found'],
    [
      'an unknown menu item',
      'rich',
      { mode: 'menu', lines: [{ itemCode: 'CAVIAR', quantity: 1 }] },
      {},
      404,
      'menu_item_not_found',
    ],
    [
      'portions at a terminal without a portion price',
      'rich',
      { mode: 'portions', portions: 1 },
      { terminal: 'stallPos' },
      422,
      'deduction_mode_not_configured',
    ],
  ];

  test.each(scenarios)('%s → %s %s', async (_name, card, deduction, extra, status, code, balances) => {
    const terminal = extra.terminal
      ? ((school as unknown as Record<string, string>)[extra.terminal] ?? extra.terminal)
      : undefined;
    const response = await purchase(card, deduction, { ...extra, terminal });
    expect(response.statusCode, response.body).toBe(status);
    const body = response.json();
    expect(status === 200 ? body.outcome : body.error.code).toBe(code);
    if (balances) {
      const now = await walletBalances(app.db, cards[card]!);
      for (const [wallet, fen] of Object.entries(balances)) expect(now[wallet]).toBe(BigInt(fen));
    }
  });

  test('a purchase is booked with its meal period, an outbox event and balanced postings', async () => {
    const response = await purchase('rich', amount(700));
    const { transactionId } = response.json();
    const { rows } = await app.db.query(
      `select kind, merchant_id, meal_period, amount_fen from ledger_transactions where transaction_id = $1`,
      [transactionId],
    );
    expect(rows[0]).toMatchObject({ kind: 'purchase', merchant_id: school.canteenId, amount_fen: 700n });
    const { rows: sums } = await app.db.query<{ sum: bigint; n: number }>(
      `select sum(amount_fen)::bigint as sum, count(*)::int as n from ledger_postings where transaction_id = $1`,
      [transactionId],
    );
    expect(sums[0]).toEqual({ sum: 0n, n: 2 });
    const { rows: events } = await app.db.query(
      `select topic from outbox where (payload->>'transactionId')::bigint = $1`,
      [transactionId],
    );
    expect(events).toEqual([{ topic: 'ledger.purchase' }]);
  });

  test('purchases sent together, a refusal among them, each name their own transaction and event', async () => {
    // Sent together, they share batches, whose ids are reserved before any purchase is decided.
    const sent = [
      { card: 'rich', fen: 700 },
      { card: 'poor', fen: 4_000 },
      { card: 'rich', fen: 300 },
      { card: 'rich', fen: 400 },
      { card: 'rich', fen: 500 },
    ].map((s, index) => ({ ...s, seq: 800_001 + index }));
    const answers = await Promise.all(sent.map((s) => purchase(s.card, amount(s.fen), { seq: s.seq })));
    const outcomeOf = (a: (typeof answers)[number]) => a.json().outcome ?? a.json().error.code;
    expect(answers.map(outcomeOf)).toEqual(['ok', 'insufficient_balance', 'ok', 'ok', 'ok']);
    for (const [index, answer] of answers.entries()) {
      if (outcomeOf(answer) !== 'ok') continue;
      const requestKey = `pos:${school.pos}:${sent[index]!.seq}`;
      const { rows } = await app.db.query(
        `select t.request_key, t.amount_fen, r.transaction_id as answered_by, o.payload->>'requestKey' as event_key
           from ledger_transactions t
           join ledger_requests r on r.request_key = t.request_key
           join outbox o on (o.payload->>'transactionId')::bigint = t.transaction_id
          where t.transaction_id = $1`,
        [answer.json().transactionId],
      );
      expect(rows).toEqual([
        {
          request_key: requestKey,
          amount_fen: BigInt(sent[index]!.fen),
          answered_by: BigInt(answer.json().transactionId),
          event_key: requestKey,
        },
      ]);
    }
  });
});

describe('idempotency', () => {
  test('the same purchase twice is booked once and answered twice the same, marked as a repeat', async () => {
    const before = await walletBalances(app.db, cards.rich!);
    const first = await purchase('rich', amount(321), { seq: 900_001 });
    const again = await purchase('rich', amount(321), { seq: 900_001 });
    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect({ ...again.json(), replayed: false }).toEqual(first.json());
    expect((await walletBalances(app.db, cards.rich!)).main).toBe(before.main! - 321n);
  });

  test.each([
    ['a different amount', amount(322), 'exists_with_different_amount'],
    ['a different deduction', { mode: 'fixed' }, 'exists_with_different_amount'],
  ])('the same key with %s is refused (409) and changes nothing', async (_name, deduction, code) => {
    const counts = await ledgerRowCounts(app.db, school);
    const response = await purchase('rich', deduction, { seq: 900_001 });
    expect(response.statusCode).toBe(409);
    expect(response.json().error.code).toBe(code);
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
  });

  test('the same key for another card is refused as different content', async () => {
    const response = await purchase('poor', amount(321), { seq: 900_001 });
    expect(response.json().error.code).toBe('exists_with_different_content');
  });
});

describe('bad input at HTTP: 4xx naming the field, nothing written', () => {
  const base = () => ({
    terminalId: school.pos,
    terminalSeq: 7_000_000 + ++seq,
    cardNo: cards.rich!,
    deduction: { mode: 'amount', amountFen: 100 },
  });
  const cases: Array<[string, (b: Record<string, unknown>) => unknown, string]> = [
    ['a negative amount', (b) => ({ ...b, deduction: { mode: 'amount', amountFen: -5 } }), 'amountFen'],
    ['a zero amount', (b) => ({ ...b, deduction: { mode: 'amount', amountFen: 0 } }), 'amountFen'],
    ['an absurd amount', (b) => ({ ...b, deduction: { mode: 'amount', amountFen: 1e12 } }), 'amountFen'],
    ['a fractional amount', (b) => ({ ...b, deduction: { mode: 'amount', amountFen: 12.5 } }), 'amountFen'],
    [
      'an amount as a string',
      (b) => ({ ...b, deduction: { mode: 'amount', amountFen: '100' } }),
      'amountFen',
    ],
    ['a missing key (terminalSeq)', ({ terminalSeq: _, ...b }) => b, 'terminalSeq'],
    ['a malformed card number', (b) => ({ ...b, cardNo: 'xyz' }), 'cardNo'],
    ['an unknown field', (b) => ({ ...b, tip: 5 }), 'additional properties'],
  ];
  test.each(cases)('%s', async (_name, mutate, field) => {
    const counts = await ledgerRowCounts(app.db, school);
    const response = await app.inject({
      method: 'POST',
      url: '/api/ledger/purchases',
      payload: mutate(base()) as object,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('invalid_request');
    expect(response.json().error.message).toContain(field);
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
  });

  test('malformed JSON', async () => {
    const counts = await ledgerRowCounts(app.db, school);
    const response = await app.inject({
      method: 'POST',
      url: '/api/ledger/purchases',
      headers: { 'content-type': 'application/json' },
      payload: '{"terminalId": ',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('malformed_json');
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
  });

  test.each([
    ['an unknown card', { cardNo: 'ABCDEF0123456789' }, 404, 'cardNo'],
    ['an unknown terminal', { terminalId: 'NO-SUCH-POS' }, 404, 'terminalId'],
  ])('%s: a 404 naming the field, nothing written', async (_name, patch, status, field) => {
    const counts = await ledgerRowCounts(app.db, school);
    const response = await app.inject({
      method: 'POST',
      url: '/api/ledger/purchases',
      payload: { ...base(), ...patch },
    });
    expect(response.statusCode).toBe(status);
    expect(response.json().error.message).toContain(field);
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
  });
});

test('recomputing every balance from the postings finds no difference', async () => {
  const result = await checkLedger(app.db);
  expect(result.differences).toEqual([]);
  expect(result.unbalancedTransactions).toEqual([]);
});
