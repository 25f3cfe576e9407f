// The relay's row rules, without a database: what each event becomes, in the columns the relay sends.
import { describe, expect, test } from 'vitest';
import {
  encodeRows,
  parseInstantMs,
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
  outboxId: '42',
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
    // The body lists a row's values in the order of the insert's column list.
    const swipeRow = routed.find((r) => r.table === 'swipes')!.row;
    expect(warehouseColumns.swipes.join(',')).toBe(
      'event_id,school_id,swipe_date,kind,terminal_id,terminal_seq,card_no,cardholder_id,swiped_at,received_at',
    );
    expect(encodeRows('swipes', [swipeRow])).toBe(
      `["42","S1","2026-12-01","gate_in","S1-GATE",7,"8000000000000001","1001",` +
        `${Date.parse('2026-11-30T23:30:00.123Z')},${Date.parse('2026-11-30T23:31:00Z')}]`,
    );
  });

  test('a body is each row’s values as JSON in column order, whatever the strings hold', () => {
    const odd = {
      event_id: '1',
      entity: 'cardholders',
      entity_key: 'tab\there "quoted" back\\slash 换行\n\u0001 \u2028',
      changed_at: 1764554400000,
    };
    const body = encodeRows('dimension_changes', [odd, { ...odd, event_id: '2', changed_at: Number.NaN }]);
    expect(JSON.parse(`[${body}]`)).toEqual([
      ['1', odd.entity, odd.entity_key, odd.changed_at, null],
      ['2', odd.entity, odd.entity_key, null, null],
    ]);
    expect(body).not.toMatch(/[\n\t]/);
  });
});

describe('instants', () => {
  test.each([
    '2026-12-01T14:59:43.123+00:00',
    '2026-12-01T14:59:43.123456+08:00',
    '2026-12-01T14:59:43Z',
    '2026-12-01T14:59:43.1Z',
    '2026-12-01T14:59:43.9999999Z',
    '2026-12-01T14:59:43.999999999999999999999Z',
    '2026-12-01T14:59:43.123456789Z',
    '2026-12-01T14:59:43.0123456789Z',
    '2026-12-01T14:59:43.0012345678Z',
    '2026-12-01T14:59:43-00:00',
    '2026-12-01t14:59:43z',
    '2026-12-01T14:59:43-05:30',
    '2024-02-29T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-12-01T24:00:00Z',
    '2026-12-01T23:60:00Z',
    '2026-13-01T00:00:00Z',
    '2026-12-01T14:59:43.Z',
    '2026-12-01T14:59:43+0800',
    '2026-12-01T14:59:43+24:00',
    '2026-12-01 14:59:43Z',
    '2026-12-01T14:59:43.123+00:00 ',
    '0999-12-01T14:59:43Z',
    'yesterday',
    '',
  ])('%j reads as Date.parse reads it', (text) => {
    expect(parseInstantMs(text)).toBe(Date.parse(text));
  });

  test('any instant in either written form, with 0 to 9 fraction digits, reads as Date.parse reads it', () => {
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(random() * 4e12);
      const offsetMin = Math.floor(random() * 28 * 60) - 14 * 60;
      const fraction =
        i % 10 === 0
          ? ''
          : '.' +
            String(Math.floor(random() * 1e9))
              .padStart(9, '0')
              .slice(0, i % 10);
      const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19) + fraction;
      const zone = `${offsetMin < 0 ? '-' : '+'}${String(Math.floor(Math.abs(offsetMin) / 60)).padStart(2, '0')}:${String(Math.abs(offsetMin) % 60).padStart(2, '0')}`;
      for (const text of [new Date(ms).toISOString(), local + zone])
        expect(parseInstantMs(text)).toBe(Date.parse(text));
    }
  });
});
