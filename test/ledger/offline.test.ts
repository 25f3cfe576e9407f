// Offline purchase records (脱机流水) uploaded later: one row per record with its expected outcome and
// purse findings (卡库不平 and others), then what a whole upload sent twice, or changed, does.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { placeholderTac } from '../../core/ledger/offline/tac.ts';
import { stackConfig } from '../support/env.ts';
import {
  createCards,
  createCategory,
  createSchool,
  fund,
  ledgerRowCounts,
  scopedLedgerCheck,
  walletBalances,
  type School,
} from './fixture.ts';

let app: FastifyInstance;
let school: School;
const cards: Record<string, string> = {};

beforeAll(async () => {
  app = await buildApp(stackConfig(), pino({ level: 'warn' }));
  await app.ready();
  school = await createSchool(app.db);
  const category = await createCategory(app.db, { walletOrder: ['main'] });
  const [a, b, c] = await createCards(app.db, school, 3, { categoryId: category });
  Object.assign(cards, { a, b, c });
  await fund(app.db, school, [cards.a!, cards.b!], 10_000n);
  await fund(app.db, school, [cards.c!], 300n);
});
afterAll(async () => {
  await app?.close();
});

interface RecordSpec {
  seq: number;
  card: string;
  counter: number;
  before: number;
  amount: number;
  after?: number;
  forged?: boolean;
  at?: string;
}

/** A record as a terminal writes it, with the TAC its PSAM would compute (or a forged one). */
function record(spec: RecordSpec, terminalId = school.pos) {
  const at = spec.at ?? '2026-11-28T04:30:00.000Z';
  const fields = {
    cardNo: cards[spec.card] ?? spec.card,
    cardCounter: spec.counter,
    amountFen: BigInt(spec.amount),
    balanceFenAfter: BigInt(spec.after ?? spec.before - spec.amount),
    terminalId,
    terminalSeq: spec.seq,
    at,
  };
  const tac = placeholderTac(fields);
  return {
    terminalSeq: spec.seq,
    cardNo: fields.cardNo,
    cardCounter: spec.counter,
    balanceFenBefore: spec.before,
    amountFen: spec.amount,
    balanceFenAfter: Number(fields.balanceFenAfter),
    at,
    tac: spec.forged ? (tac === '00000000' ? '11111111' : '00000000') : tac,
  };
}

let uploads = 0;
const upload = (
  records: object[],
  uploadId = `up-${school.schoolId}-${++uploads}`,
  terminalId = school.pos,
) =>
  app.inject({
    method: 'POST',
    url: '/api/ledger/offline-uploads',
    payload: { uploadId, terminalId, records },
  });

async function reportsOf(recordKeys: string[]): Promise<Record<string, string[]>> {
  const { rows } = await app.db.query<{ record_key: string; kinds: string[] }>(
    `select record_key, array_agg(kind order by kind) as kinds from purse_reports where record_key = any($1::text[]) group by record_key`,
    [recordKeys],
  );
  return Object.fromEntries(rows.map((r) => [r.record_key, r.kinds]));
}

describe('offline records: one row per record, its outcome and findings', () => {
  // In one upload, in this order; the mirror of each card starts empty.
  // prettier-ignore
  const rows: Array<[string, RecordSpec, string, string[]]> = [
    ['the first record of a card', { seq: 1, card: 'a', counter: 10, before: 10_000, amount: 500 }, 'ok', []],
    ['the next counter, the balance the last record left', { seq: 2, card: 'a', counter: 11, before: 9500, amount: 300 }, 'ok', []],
    ['a counter gap (records 12–13 missing)', { seq: 3, card: 'a', counter: 14, before: 9200, amount: 200 }, 'ok', ['counter_gap']],
    ['the next counter with another balance before (卡库不平)', { seq: 4, card: 'a', counter: 15, before: 9999, amount: 100 }, 'ok', ['balance_mismatch']],
    ['a counter already used by another record', { seq: 5, card: 'a', counter: 11, before: 9500, amount: 300 }, 'purse_counter_is_duplicated', ['duplicate_counter']],
    ['a forged TAC', { seq: 6, card: 'b', counter: 1, before: 10_000, amount: 100, forged: true }, 'purse_tac_is_invalid', ['tac_invalid']],
    ['before − amount ≠ after', { seq: 7, card: 'b', counter: 2, before: 10_000, amount: 100, after: 9950 }, 'purse_record_is_inconsistent', ['inconsistent_record']],
    ['more than the wallet has: booked, shortfall to suspense', { seq: 8, card: 'c', counter: 5, before: 1000, amount: 800 }, 'ok', ['shortfall']],
    ['an unknown card', { seq: 9, card: 'ABCDEF0000000009', counter: 1, before: 100, amount: 50 }, 'card_not_found', []],
  ];

  test('rows in one upload', async () => {
    const response = await upload(rows.map(([, spec]) => record(spec)));
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    const outcomes = body.records.map(
      (r: { terminalSeq: number; outcome: string }) => `${r.terminalSeq} ${r.outcome}`,
    );
    expect(outcomes).toEqual(rows.map(([, spec, code]) => `${spec.seq} ${code}`));
    expect(body.acceptedCount).toBe(rows.filter(([, , code]) => code === 'ok').length);
    const reports = await reportsOf(rows.map(([, spec]) => `offline:${school.pos}:${spec.seq}`));
    for (const [name, spec, , findings] of rows)
      expect(`${name}: ${reports[`offline:${school.pos}:${spec.seq}`] ?? []}`).toBe(`${name}: ${findings}`);
    // a: 500 + 300 + 200 + 100 booked; c: 300 from the wallet, 500 short; b: nothing.
    expect((await walletBalances(app.db, cards.a!)).main).toBe(10_000n - 1100n);
    expect((await walletBalances(app.db, cards.b!)).main).toBe(10_000n);
    expect((await walletBalances(app.db, cards.c!)).main).toBe(0n);
    const { rows: suspense } = await app.db.query<{ balance_fen: bigint }>(
      `select balance_fen from accounts where unit_id = $1 and subject_code = '1901'`,
      [school.schoolId],
    );
    expect(suspense[0]!.balance_fen).toBe(500n);
    const { rows: mirror } = await app.db.query(
      `select counter, balance_fen from card_purses where card_no = $1`,
      [cards.a],
    );
    expect(mirror[0]).toEqual({ counter: 15, balance_fen: 9899n });
  });

  test('the same upload twice changes nothing and answers the same', async () => {
    const records = [record({ seq: 100, card: 'b', counter: 20, before: 9000, amount: 150 })];
    const first = await upload(records, `same-${school.schoolId}`);
    expect(first.json().records[0].outcome).toBe('ok');
    const counts = await ledgerRowCounts(app.db, school);
    const reports = await app.db.query(`select count(*)::int as n from purse_reports where card_no = $1`, [
      cards.b,
    ]);
    const again = await upload(records, `same-${school.schoolId}`);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect({ ...again.json(), replayed: false }).toEqual(first.json());
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
    expect(
      (await app.db.query(`select count(*)::int as n from purse_reports where card_no = $1`, [cards.b])).rows,
    ).toEqual(reports.rows);
  });

  test('the same upload id with other content is refused, naming what differs, and changes nothing', async () => {
    const id = `changed-${school.schoolId}`;
    const records = [record({ seq: 200, card: 'b', counter: 30, before: 8850, amount: 100 })];
    expect((await upload(records, id)).statusCode).toBe(200);
    const counts = await ledgerRowCounts(app.db, school);
    const otherAmount = await upload(
      [record({ seq: 200, card: 'b', counter: 30, before: 8850, amount: 101 })],
      id,
    );
    expect(otherAmount.statusCode).toBe(409);
    expect(otherAmount.json().error.code).toBe('exists_with_different_amount');
    const otherRecord = await upload(
      [record({ seq: 201, card: 'b', counter: 30, before: 8850, amount: 100 })],
      id,
    );
    expect(otherRecord.statusCode).toBe(409);
    expect(otherRecord.json().error.code).toBe('exists_with_different_content');
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
  });

  test('a record already booked, in a new upload, is a repeat; changed, it is refused', async () => {
    const booked = record({ seq: 300, card: 'b', counter: 40, before: 8750, amount: 50 });
    expect((await upload([booked])).json().records[0].outcome).toBe('ok');
    const before = await walletBalances(app.db, cards.b!);
    const again = (await upload([booked, { ...booked, amountFen: 60 }])).json();
    expect(
      again.records.map((r: { outcome: string; replayed?: boolean }) => [r.outcome, r.replayed ?? false]),
    ).toEqual([
      ['ok', true],
      ['exists_with_different_amount', false],
    ]);
    expect(await walletBalances(app.db, cards.b!)).toEqual(before);
  });

  test('one sequence number twice in an upload: the first is booked, other content under it is refused', async () => {
    const first = record({ seq: 400, card: 'b', counter: 50, before: 8700, amount: 10 });
    const other = record({ seq: 400, card: 'b', counter: 51, before: 8690, amount: 10 });
    const body = (await upload([first, first, other])).json();
    expect(body.records.map((r: { outcome: string }) => r.outcome)).toEqual([
      'ok',
      'ok',
      'exists_with_different_content',
    ]);
    expect(body.records[1].replayed).toBe(true);
    expect(body.acceptedCount).toBe(2);
  });

  test('an unknown card’s record is not stored: once the card exists, it is booked', async () => {
    const cardNo = 'ABCDEF00000000AA';
    const pending = { ...record({ seq: 500, card: cardNo, counter: 1, before: 100, amount: 40 }) };
    expect((await upload([pending])).json().records[0].outcome).toBe('card_not_found');
    const { rows } = await app.db.query<{ cardholder_id: bigint }>(
      `insert into cardholders (school_id, kind, person_no, name, gender) values ($1, 'student', $2, '后来者', 'U') returning cardholder_id`,
      [school.schoolId, `late-${school.schoolId}`],
    );
    const { issueCard } = await import('../../core/ledger/registry.ts');
    await issueCard(app.db, {
      cardNo,
      cardholderId: rows[0]!.cardholder_id,
      categoryId: 1,
      expiresOn: '2099-12-31',
    });
    expect((await upload([pending])).json().records[0]).toMatchObject({
      outcome: 'ok',
      findings: ['shortfall'],
    });
  });

  test.each([
    ['an unknown terminal', 'NO-SUCH-POS', 404, 'terminal_not_found'],
    ['a gate terminal', 'gate', 422, 'terminal_takes_no_payments'],
  ])('%s: refused, nothing written, and the upload can come again', async (_name, terminal, status, code) => {
    const terminalId = (school as unknown as Record<string, string>)[terminal] ?? terminal;
    const counts = await ledgerRowCounts(app.db, school);
    const id = `refused-${terminal}-${school.schoolId}`;
    const records = [record({ seq: 1, card: 'a', counter: 99, before: 100, amount: 1 }, terminalId)];
    const response = await upload(records, id, terminalId);
    expect(response.statusCode).toBe(status);
    expect(response.json().error.code).toBe(code);
    expect(response.json().error.message).toContain('terminalId');
    expect(await ledgerRowCounts(app.db, school)).toEqual(counts);
    const { rows } = await app.db.query(`select 1 from ledger_requests where request_key like $1`, [
      `%${id}%`,
    ]);
    expect(rows).toEqual([]);
  });
});

test('every account of this school recomputes to its stored balance; no wallet below zero', async () => {
  expect(await scopedLedgerCheck(app.db, school)).toEqual({
    differences: [],
    unbalanced: [],
    belowFloor: [],
  });
});
