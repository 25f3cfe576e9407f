// The relay's row rules, without a database: what each event becomes, in the columns the relay sends.
import { describe, expect, test } from 'vitest';
import {
  routeDimension,
  routeLedger,
  routePurseReport,
  routeSwipe,
  warehouseColumns,
  type OutboxEvent,
  type Routed,
} from '../../warehouse/relay/rows.ts';
import { businessDateOfMs } from '../../core/ledger/calendar.ts';

const createdAtMs = Date.parse('2026-12-01T02:00:00Z');
const event = (topic: string, payload: Record<string, unknown>): OutboxEvent => ({
  outboxId: 42n,
  topic,
  payload,
  createdAtMs,
});
const swipe = (overrides: Record<string, unknown> = {}) =>
  event('swipe.recorded', {
    terminalId: 'S1-GATE',
    terminalSeq: 7,
    cardNo: '8000000000000001',
    kind: 'gate_in',
    swipedAt: '2026-12-01T07:30:00.123456+08:00',
    receivedAt: '2026-11-30T23:31:00+00:00',
    schoolId: 'S1',
    cardholderId: '1001',
    ...overrides,
  });
const rowsOf = (r: Routed) => {
  if (!r.ok) throw new Error(`refused: ${r.reason}`);
  return r.rows;
};

describe('business dates (UTC+8)', () => {
  test('the day turns at 16:00 UTC', () => {
    expect(businessDateOfMs(Date.parse('2026-11-30T15:59:59.999Z'))).toBe('2026-11-30');
    expect(businessDateOfMs(Date.parse('2026-11-30T16:00:00.000Z'))).toBe('2026-12-01');
    expect(businessDateOfMs(Date.parse('2028-02-28T16:00:00Z'))).toBe('2028-02-29');
    expect(businessDateOfMs(Date.parse('2026-12-31T16:00:00Z'))).toBe('2027-01-01');
  });
});

describe('swipes', () => {
  test('a swipe becomes one row: instants as epoch milliseconds, the local date of the swipe', () => {
    const [only, ...rest] = rowsOf(routeSwipe(swipe()));
    expect(rest).toEqual([]);
    expect(only!.table).toBe('swipes');
    expect(only!.row).toEqual({
      event_id: '42',
      school_id: 'S1',
      swipe_date: '2026-12-01',
      kind: 'gate_in',
      terminal_id: 'S1-GATE',
      terminal_seq: 7,
      card_no: '8000000000000001',
      cardholder_id: '1001',
      swiped_at: Date.parse('2026-11-30T23:30:00.123Z'),
      received_at: Date.parse('2026-11-30T23:31:00Z'),
    });
  });

  test('an unknown cardholder is 0; a missing receipt time is the outbox time', () => {
    const [only] = rowsOf(routeSwipe(swipe({ cardholderId: null, receivedAt: undefined })));
    expect(only!.row.cardholder_id).toBe(0);
    expect(only!.row.received_at).toBe(createdAtMs);
  });

  test.each([
    [{ terminalId: undefined }, 'swipe without terminalId'],
    [{ terminalSeq: -1 }, 'swipe terminalSeq is not an unsigned integer'],
    [{ terminalSeq: 1.5 }, 'swipe terminalSeq is not an unsigned integer'],
    [{ cardNo: 12 }, 'swipe without cardNo'],
    [{ kind: 'teleport' }, 'swipe kind "teleport" is not one of'],
    [
      { swipedAt: '1999-12-31T23:59:59Z' },
      'swipe swipedAt "1999-12-31T23:59:59Z" is not a time in 2000-2099',
    ],
    [{ swipedAt: 'yesterday' }, 'is not a time in 2000-2099'],
  ])('%j is set aside: %s', (overrides, reason) => {
    const r = routeSwipe(swipe(overrides));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });
});

describe('the columns the relay sends', () => {
  test('every row has exactly its table’s columns', () => {
    const tx = {
      transaction_id: 9n,
      kind: 'purchase',
      amount_fen: 500n,
      school_id: 'S1',
      business_date: '2026-12-01',
      merchant_id: 'S1-CANTEEN',
      terminal_id: 'S1-POS',
      card_no: '8000000000000001',
      cardholder_id: 1001n,
      meal_period: 'lunch',
      original_transaction_id: null,
      original_kind: null,
      created_at: new Date('2026-12-01T04:00:00Z'),
      detail: { terminalSeq: 3 },
    };
    const posting = (posting_id: bigint, amount_fen: bigint, subject_code: string) => ({
      posting_id,
      transaction_id: 9n,
      account_id: posting_id,
      amount_fen,
      subject_code,
      unit_id: 'S1',
      merchant_id: null,
      cardholder_id: null,
      wallet_kind: null,
    });
    const routed = [
      routeSwipe(swipe()),
      routeLedger(event('ledger.purchase', { transactionId: '9' }), tx, [
        posting(1n, 500n, '200101'),
        posting(2n, -500n, '2101'),
      ]),
      routeDimension(event('dim.schools', { _key: 'S1', school_id: 'S1', name: '一中' })),
      routePurseReport(
        event('purse.report', { report_id: 5, card_no: '8000000000000001', kind: 'gap', detail: {} }),
      ),
    ].flatMap(rowsOf);
    expect(new Set(routed.map((r) => r.table))).toEqual(new Set(Object.keys(warehouseColumns)));
    for (const { table, row } of routed)
      expect(Object.keys(row).sort()).toEqual([...warehouseColumns[table]].sort());
  });
});
