/**
 * Turns outbox events (and the book-of-record rows they point at) into warehouse rows, or into a reason
 * to set the event aside. Pure functions: no database, no warehouse, so every rule is testable by itself.
 */
import { businessDateOfMs } from '../../core/ledger/calendar.ts';

export interface OutboxEvent {
  /** The outbox id in decimal: only ever a key and a column value; BigInt() of each cost a microsecond. */
  outboxId: string;
  topic: string;
  payload: Record<string, unknown>;
  /** When the event was written, epoch milliseconds. */
  createdAtMs: number;
}

/** A ledger transaction as the relay reads it from PostgreSQL, joined to who and where. */
export interface LedgerTransactionRow {
  transaction_id: bigint;
  kind: string;
  amount_fen: bigint;
  school_id: string | null;
  business_date: string;
  merchant_id: string | null;
  terminal_id: string | null;
  card_no: string | null;
  cardholder_id: bigint | null;
  meal_period: string | null;
  original_transaction_id: bigint | null;
  original_kind: string | null;
  created_at: Date;
  detail: Record<string, unknown> | null;
}

export interface LedgerPostingRow {
  posting_id: bigint;
  transaction_id: bigint;
  account_id: bigint;
  amount_fen: bigint;
  subject_code: string;
  unit_id: string;
  merchant_id: string | null;
  cardholder_id: bigint | null;
  wallet_kind: string | null;
}

export type WarehouseTable =
  'swipes' | 'ledger_transactions' | 'ledger_postings' | 'dimension_changes' | 'purse_reports';

/** A row by column name; instants (DateTime64(3)) as epoch milliseconds, dates as 'YYYY-MM-DD'. */
export type WarehouseRow = Record<string, string | number>;

/**
 * Each raw table's columns, in the order the relay sends them (JSONCompactEachRow: one JSON array per
 * row, so neither side spends time on the names). The warehouse suite checks them against the schema.
 */
export const warehouseColumns = {
  swipes: [
    'event_id',
    'school_id',
    'swipe_date',
    'kind',
    'terminal_id',
    'terminal_seq',
    'card_no',
    'cardholder_id',
    'swiped_at',
    'received_at',
  ],
  ledger_transactions: [
    'event_id',
    'transaction_id',
    'kind',
    'amount_fen',
    'school_id',
    'business_date',
    'merchant_id',
    'terminal_id',
    'card_no',
    'cardholder_id',
    'meal_period',
    'original_transaction_id',
    'original_kind',
    'method',
    'batch_id',
    'terminal_seq',
    'created_at',
    'detail',
  ],
  ledger_postings: [
    'event_id',
    'posting_id',
    'transaction_id',
    'business_date',
    'kind',
    'account_id',
    'subject_code',
    'unit_id',
    'merchant_id',
    'cardholder_id',
    'wallet_kind',
    'amount_fen',
  ],
  dimension_changes: ['event_id', 'entity', 'entity_key', 'changed_at', 'row'],
  purse_reports: [
    'event_id',
    'report_id',
    'card_no',
    'kind',
    'record_key',
    'detail',
    'report_date',
    'created_at',
  ],
} as const satisfies Record<WarehouseTable, readonly string[]>;

/**
 * A table's rows as the body of a JSONCompactEachRow insert: each row's values as a JSON array in
 * `warehouseColumns` order, rows separated by commas (which the format accepts between rows). One
 * `JSON.stringify` for the lot costs the relay a third to a half less than a line per row did.
 */
export function encodeRows(table: WarehouseTable, rows: readonly WarehouseRow[]): string {
  const columns = warehouseColumns[table];
  return JSON.stringify(rows.map((row) => columns.map((c) => row[c]))).slice(1, -1);
}

export type Routed =
  { ok: true; rows: Array<{ table: WarehouseTable; row: WarehouseRow }> } | { ok: false; reason: string };

export const swipeKinds = [
  'gate_in',
  'gate_out',
  'dorm_in',
  'dorm_out',
  'class',
  'bus_on',
  'bus_off',
  'access',
] as const;
export const dimensionEntities = [
  'schools',
  'merchants',
  'terminals',
  'cardholders',
  'card_categories',
  'cards',
] as const;

/** Outside these years a timestamp is a terminal's clock gone wrong, not a swipe. */
const earliestMs = Date.UTC(2000, 0, 1);
const latestMs = Date.UTC(2100, 0, 1);

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const isUint = (v: unknown): v is string | number =>
  (typeof v === 'string' && /^[0-9]{1,19}$/.test(v)) ||
  (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);

const digitsAt = (s: string, from: number, count: number) => {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
};
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysInMonth = (year: number, month: number) =>
  month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : monthDays[month - 1]!;

/**
 * `Date.parse`, with a fast path for the one form PostgreSQL and `toISOString` write,
 * 'YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)': the relay reads two instants per swipe, and `Date.parse` was a
 * twentieth of its CPU. Anything else (or a field out of range) goes to `Date.parse`, which decides.
 */
export function parseInstantMs(s: string): number {
  const n = s.length;
  if (n < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84)
    return Date.parse(s);
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return Date.parse(s);
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  const hour = digitsAt(s, 11, 2);
  const minute = digitsAt(s, 14, 2);
  const second = digitsAt(s, 17, 2);
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    // Milliseconds are the first three digits; Date.parse reads longer fractions its own way, so they go to it.
    for (i++; i < n; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      if (i < 23) ms += d * (i === 20 ? 100 : i === 21 ? 10 : 1);
    }
    if (i === 20 || i > 29) return Date.parse(s);
  }
  let offsetMin = 0;
  const zone = s.charCodeAt(i);
  if (zone === 90 && i + 1 === n) {
    // 'Z': UTC
  } else if ((zone === 43 || zone === 45) && i + 6 === n && s.charCodeAt(i + 3) === 58) {
    const oh = digitsAt(s, i + 1, 2);
    const om = digitsAt(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return Date.parse(s);
    offsetMin = (zone === 43 ? 1 : -1) * (oh * 60 + om);
  } else return Date.parse(s);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
    return Date.parse(s);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return Date.parse(s);
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
}

/** Epoch milliseconds of a timestamp text in 2000-2099. */
function time(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = parseInstantMs(v);
  return ms >= earliestMs && ms < latestMs ? ms : undefined;
}

export function routeSwipe(e: OutboxEvent): Routed {
  const p = e.payload;
  const terminalId = str(p.terminalId);
  const cardNo = str(p.cardNo);
  const kind = str(p.kind);
  const swipedAt = time(p.swipedAt);
  const receivedAt = time(p.receivedAt) ?? e.createdAtMs;
  if (!terminalId) return { ok: false, reason: 'swipe without terminalId' };
  if (!isUint(p.terminalSeq)) return { ok: false, reason: 'swipe terminalSeq is not an unsigned integer' };
  if (!cardNo) return { ok: false, reason: 'swipe without cardNo' };
  if (!kind || !(swipeKinds as readonly string[]).includes(kind))
    return {
      ok: false,
      reason: `swipe kind ${JSON.stringify(p.kind)} is not one of ${swipeKinds.join(', ')}`,
    };
  if (!swipedAt)
    return { ok: false, reason: `swipe swipedAt ${JSON.stringify(p.swipedAt)} is not a time in 2000-2099` };
  return {
    ok: true,
    rows: [
      {
        table: 'swipes',
        row: {
          event_id: e.outboxId,
          school_id: str(p.schoolId) ?? '',
          swipe_date: businessDateOfMs(swipedAt),
          kind,
          terminal_id: terminalId,
          terminal_seq: p.terminalSeq,
          card_no: cardNo,
          cardholder_id: isUint(p.cardholderId) ? p.cardholderId : 0,
          swiped_at: swipedAt,
          received_at: receivedAt,
        },
      },
    ],
  };
}

const optionalInt = (v: unknown) =>
  typeof v === 'number' && Number.isSafeInteger(v)
    ? String(v)
    : typeof v === 'string' && /^-?[0-9]{1,18}$/.test(v)
      ? v
      : '-1';

export function routeLedger(
  e: OutboxEvent,
  tx: LedgerTransactionRow | undefined,
  postings: readonly LedgerPostingRow[],
): Routed {
  if (!isUint(e.payload.transactionId))
    return { ok: false, reason: 'ledger event without a numeric transactionId' };
  if (!tx) return { ok: false, reason: `ledger transaction ${String(e.payload.transactionId)} not found` };
  if (postings.length < 2)
    return { ok: false, reason: `ledger transaction ${tx.transaction_id} has no postings` };
  const detail = tx.detail ?? {};
  const common = { event_id: e.outboxId, business_date: tx.business_date, kind: tx.kind };
  return {
    ok: true,
    rows: [
      {
        table: 'ledger_transactions',
        row: {
          ...common,
          transaction_id: tx.transaction_id.toString(),
          amount_fen: tx.amount_fen.toString(),
          school_id: tx.school_id ?? '',
          merchant_id: tx.merchant_id ?? '',
          terminal_id: tx.terminal_id ?? '',
          card_no: tx.card_no ?? '',
          cardholder_id: (tx.cardholder_id ?? 0n).toString(),
          meal_period: tx.meal_period ?? '',
          original_transaction_id: (tx.original_transaction_id ?? 0n).toString(),
          original_kind: tx.original_kind ?? '',
          method: str(detail.method) ?? '',
          batch_id: str(detail.batchId) ?? '',
          terminal_seq: optionalInt(detail.terminalSeq ?? e.payload.terminalSeq),
          created_at: tx.created_at.getTime(),
          detail: JSON.stringify(detail),
        },
      },
      ...postings.map((p) => ({
        table: 'ledger_postings' as const,
        row: {
          ...common,
          posting_id: p.posting_id.toString(),
          transaction_id: p.transaction_id.toString(),
          account_id: p.account_id.toString(),
          subject_code: p.subject_code,
          unit_id: p.unit_id,
          merchant_id: p.merchant_id ?? '',
          cardholder_id: (p.cardholder_id ?? 0n).toString(),
          wallet_kind: p.wallet_kind ?? '',
          amount_fen: p.amount_fen.toString(),
        },
      })),
    ],
  };
}

export function routeDimension(e: OutboxEvent): Routed {
  const entity = e.topic.slice('dim.'.length);
  if (!(dimensionEntities as readonly string[]).includes(entity))
    return { ok: false, reason: `unknown dimension ${entity}` };
  const key = e.payload._key;
  if (typeof key !== 'string' || key === '')
    return { ok: false, reason: `dimension ${entity} row without _key` };
  const { _key: _, ...row } = e.payload;
  return {
    ok: true,
    rows: [
      {
        table: 'dimension_changes',
        row: {
          event_id: e.outboxId,
          entity,
          entity_key: key,
          changed_at: e.createdAtMs,
          row: JSON.stringify(row),
        },
      },
    ],
  };
}

export function routePurseReport(e: OutboxEvent): Routed {
  const p = e.payload;
  const createdAt = time(p.created_at) ?? e.createdAtMs;
  if (!isUint(p.report_id) || !str(p.card_no) || !str(p.kind))
    return { ok: false, reason: 'purse report without report_id, card_no or kind' };
  return {
    ok: true,
    rows: [
      {
        table: 'purse_reports',
        row: {
          event_id: e.outboxId,
          report_id: String(p.report_id),
          card_no: str(p.card_no)!,
          kind: str(p.kind)!,
          record_key: str(p.record_key) ?? '',
          detail: JSON.stringify(p.detail ?? {}),
          report_date: businessDateOfMs(createdAt),
          created_at: createdAt,
        },
      },
    ],
  };
}
