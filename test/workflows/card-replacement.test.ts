// 补卡 with balance transfer against the real Temporal dev server and PostgreSQL: the wait for the old
// card's offline records, the hand-over to the new card, a record that arrives later, a worker stopped
// while it waits, and its recorded history replayed.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { buildApp } from '../../api/app.ts';
import { placeholderTac } from '../../core/ledger/offline/tac.ts';
import { workflowBundle } from '../../worker/bundle.ts';
import { queryNames, workflowIds } from '../../workflows/names.ts';
import type { LostCardResult } from '../../workflows/lost-card/workflow.ts';
import type {
  CardReplacementResult,
  CardReplacementState,
} from '../../workflows/card-replacement/workflow.ts';
import {
  createCards,
  createSchool,
  fund,
  scopedLedgerCheck,
  walletBalances,
  type School,
} from '../ledger/fixture.ts';
import { bindParent, eventually } from '../bank/fixture.ts';
import { stackConfig } from '../support/env.ts';
import { startTestWorker, type RunningWorker } from '../support/worker.ts';

const historiesDir = path.join(import.meta.dirname, 'histories');
const taskQueue = 'test-card-replacement';
let running: RunningWorker;
let app: FastifyInstance;

beforeAll(async () => {
  running = await startTestWorker(taskQueue);
  app = await buildApp({ ...stackConfig(), TEMPORAL_TASK_QUEUE: taskQueue }, pino({ level: 'error' }));
});
afterAll(async () => {
  await app?.close();
  await running?.stop();
});

interface Fixture {
  school: School;
  cardNo: string;
  phone: string;
}

/** A funded card (100 yuan) with a parent bound to it, in a school of its own. */
async function fundedCard(): Promise<Fixture> {
  const school = await createSchool(running.db);
  const [cardNo] = await createCards(running.db, school, 1, { pin: '123456' });
  await fund(running.db, school, [cardNo!], 10_000n);
  const phone = await bindParent(app, cardNo!);
  return { school, cardNo: cardNo!, phone };
}

/** One offline record as the terminal's PSAM signs it, uploaded on its own. */
async function uploadRecord(
  terminalId: string,
  record: { seq: number; cardNo: string; counter: number; before: number; amount: number; at: string },
) {
  const fields = {
    cardNo: record.cardNo,
    cardCounter: record.counter,
    amountFen: BigInt(record.amount),
    balanceFenAfter: BigInt(record.before - record.amount),
    terminalId,
    terminalSeq: record.seq,
    at: record.at,
  };
  const answer = await app.inject({
    method: 'POST',
    url: '/api/ledger/offline-uploads',
    payload: {
      uploadId: `up-${terminalId}-${record.seq}`,
      terminalId,
      records: [
        {
          terminalSeq: record.seq,
          cardNo: record.cardNo,
          cardCounter: record.counter,
          balanceFenBefore: record.before,
          amountFen: record.amount,
          balanceFenAfter: record.before - record.amount,
          at: record.at,
          tac: placeholderTac(fields),
        },
      ],
    },
  });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json().records[0] as { outcome: string; findings: string[] };
}

const replace = (cardNo: string, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/api/cards/${cardNo}/replacements`, payload: body });
const checkIn = (terminalId: string, pendingRecords = 0) =>
  app.inject({
    method: 'POST',
    url: `/api/terminals/${terminalId}/collection-check-ins`,
    payload: { pendingRecords },
  });
const state = (cardNo: string) =>
  running.client.workflow
    .getHandle(workflowIds.cardReplacement(cardNo))
    .query<CardReplacementState>(queryNames.cardReplacementState);
const result = (cardNo: string) =>
  running.client.workflow
    .getHandle(workflowIds.cardReplacement(cardNo))
    .result() as Promise<CardReplacementResult>;
const cardsOfHolder = async (cardNo: string) =>
  (
    await running.db.query<{ card_no: string; status: string; replaces_card_no: string | null }>(
      `select card_no, status, replaces_card_no from cards
        where cardholder_id = (select cardholder_id from cards where card_no = $1) order by issued_at, card_no`,
      [cardNo],
    )
  ).rows;
const textsTo = async (phone: string) =>
  (
    await running.db.query(
      `select template, body from sms_messages where to_phone = $1 order by message_id`,
      [phone],
    )
  ).rows as Array<{ template: string; body: string }>;
const fiveMinutesAgo = () => new Date(Date.now() - 300_000).toISOString();

describe('card replacement with balance transfer (补卡)', () => {
  let recordedCardNo = '';

  test('waits until every terminal of the school was collected from, then hands the balance to a new card', async () => {
    const { school, cardNo, phone } = await fundedCard();
    recordedCardNo = cardNo;
    // Lost first (挂失): the loss report freezes the card; the replacement takes that process over.
    const lost = await app.inject({
      method: 'POST',
      url: `/api/cards/${cardNo}/loss-reports`,
      payload: { requestId: 'lost-1', channel: 'card_office', operatorId: 'office-1' },
    });
    expect(lost.statusCode, lost.body).toBe(202);
    await eventually(
      async () =>
        (await running.db.query(`select status from cards where card_no = $1`, [cardNo])).rows[0].status,
      (s) => s === 'frozen',
    );
    // The canteen POS was offline when the card was lost; it uploads a record from before the freeze.
    expect(
      await uploadRecord(school.pos, {
        seq: 1,
        cardNo,
        counter: 1,
        before: 10_000,
        amount: 1_200,
        at: fiveMinutesAgo(),
      }),
    ).toMatchObject({ outcome: 'ok' });

    const started = await replace(cardNo, {
      requestId: 'rep-1',
      operatorId: 'office-1',
      reason: '学生卡丢失',
      offlineWindowS: 600,
      collectionCheckS: 1,
    });
    expect(started.statusCode, started.body).toBe(202);
    expect(started.json()).toEqual({ workflowId: `card-replacement/${cardNo}`, started: true });
    const waiting = await eventually(
      () => state(cardNo),
      (s) => s.phase === 'waiting_offline' && s.collectionChecks > 0,
    );
    expect(waiting).toMatchObject({ alreadyFrozen: true });
    expect(waiting.silentTerminals.sort()).toEqual([school.barredPos, school.stallPos].sort());
    const lostResult = (await running.client.workflow
      .getHandle(workflowIds.lostCard(cardNo))
      .result()) as LostCardResult;
    expect(lostResult).toMatchObject({
      phase: 'replaced',
      replacement: { replacementWorkflowId: `card-replacement/${cardNo}` },
    });
    const view = await app.inject({ method: 'GET', url: `/api/cards/${cardNo}/replacements` });
    expect(view.json()).toMatchObject({ state: 'waiting_offline', newCardNo: null });
    expect(view.json().silentTerminals.sort()).toEqual(waiting.silentTerminals);

    // The stall's POS says it holds nothing; the other one uploads a record from before the freeze.
    expect((await checkIn(school.stallPos)).statusCode).toBe(200);
    expect(
      await uploadRecord(school.barredPos, {
        seq: 7,
        cardNo,
        counter: 2,
        before: 8_800,
        amount: 300,
        at: fiveMinutesAgo(),
      }),
    ).toMatchObject({ outcome: 'ok', findings: [] });

    const done = await result(cardNo);
    expect(done).toMatchObject({
      phase: 'completed',
      waitEnded: 'all_collected',
      silentTerminals: [],
      balances: { mainFen: 8_500, subsidyFen: 0, depositFen: 0 },
      parentNotified: true,
    });
    const cards = await cardsOfHolder(cardNo);
    expect(cards).toEqual([
      { card_no: cardNo, status: 'cancelled', replaces_card_no: null },
      { card_no: done.newCardNo, status: 'active', replaces_card_no: cardNo },
    ]);
    expect(await walletBalances(running.db, done.newCardNo!)).toMatchObject({ main: 8_500n });
    // The PIN and the parent moved with the holder.
    const moved = await running.db.query(
      `select (select pin_hash from cards where card_no = $2) = (select pin_hash from cards where card_no = $1) as same_pin,
              (select card_no from parent_bindings where guardian_phone = $3) as bound`,
      [cardNo, done.newCardNo, phone],
    );
    expect(moved.rows[0]).toEqual({ same_pin: true, bound: done.newCardNo });
    const texts = await textsTo(phone);
    expect(texts.map((t) => t.template)).toEqual(['card_frozen', 'card_replaced']);
    expect(texts[1]!.body).toContain('85.00元');

    // A record of the old card that comes after the transfer is booked against the holder's wallets and flagged.
    expect(
      await uploadRecord(school.pos, {
        seq: 2,
        cardNo,
        counter: 3,
        before: 8_500,
        amount: 500,
        at: fiveMinutesAgo(),
      }),
    ).toMatchObject({ outcome: 'ok', findings: ['after_replacement'] });
    expect(await walletBalances(running.db, done.newCardNo!)).toMatchObject({ main: 8_000n });
    const flagged = await running.db.query(
      `select detail from purse_reports where card_no = $1 and kind = 'after_replacement'`,
      [cardNo],
    );
    expect(flagged.rows).toEqual([{ detail: { newCardNo: done.newCardNo, amountFen: '500' } }]);

    // Asking again is answered with the process that already did it.
    const again = await replace(cardNo, { requestId: 'rep-2', operatorId: 'office-1', reason: '再次申请' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual({ workflowId: `card-replacement/${cardNo}`, started: false });
    expect(await scopedLedgerCheck(running.db, school)).toEqual({
      differences: [],
      unbalanced: [],
      belowFloor: [],
    });
  });

  test('when the window passes first, the silent terminals are listed and the balance moves all the same', async () => {
    const { school, cardNo } = await fundedCard();
    expect(
      (
        await replace(cardNo, {
          requestId: 'r',
          operatorId: 'o',
          reason: '丢失',
          offlineWindowS: 2,
          collectionCheckS: 1,
        })
      ).statusCode,
    ).toBe(202);
    const done = await result(cardNo);
    expect(done).toMatchObject({
      alreadyFrozen: false,
      waitEnded: 'window_passed',
      balances: { mainFen: 10_000 },
    });
    expect(done.silentTerminals.sort()).toEqual([school.barredPos, school.pos, school.stallPos].sort());
    const row = await running.db.query(
      `select wait_ended, silent_terminals, main_fen from card_replacements where old_card_no = $1`,
      [cardNo],
    );
    expect(row.rows[0]).toEqual({
      wait_ended: 'window_passed',
      silent_terminals: done.silentTerminals,
      main_fen: 10_000n,
    });
    // Frozen and listed on the blacklist with priority while it waited.
    const listed = await running.db.query(
      `select priority from blacklist_entries where card_no = $1 and removed_version is null`,
      [cardNo],
    );
    expect(listed.rows).toEqual([{ priority: true }]);
  });

  test('a worker stopped while the replacement waits: a new worker finishes it, moving the card once', async () => {
    const { school, cardNo } = await fundedCard();
    expect(
      (
        await replace(cardNo, {
          requestId: 'r',
          operatorId: 'o',
          reason: '丢失',
          offlineWindowS: 120,
          collectionCheckS: 1,
        })
      ).statusCode,
    ).toBe(202);
    await eventually(
      () => state(cardNo),
      (s) => s.phase === 'waiting_offline' && s.collectionChecks > 0,
    );
    await running.stop();
    for (const terminal of [school.pos, school.stallPos, school.barredPos])
      expect((await checkIn(terminal)).statusCode).toBe(200);
    running = await startTestWorker(taskQueue);
    const done = await result(cardNo);
    expect(done).toMatchObject({
      phase: 'completed',
      waitEnded: 'all_collected',
      balances: { mainFen: 10_000 },
    });
    expect((await cardsOfHolder(cardNo)).map((c) => c.status)).toEqual(['cancelled', 'active']);
    const steps = await running.db.query(
      `select kind, count(*)::int as n from card_office_requests where request_key like $1 group by kind order by kind`,
      [`card-replacement/${cardNo}/%`],
    );
    expect(steps.rows).toEqual([
      { kind: 'replacement_begin', n: 1 },
      { kind: 'replacement_transfer', n: 1 },
    ]);
    expect(await scopedLedgerCheck(running.db, school)).toEqual({
      differences: [],
      unbalanced: [],
      belowFloor: [],
    });
  });

  test('bad input gets a 4xx naming what is wrong, and starts nothing', async () => {
    const { school, cardNo } = await fundedCard();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ operatorId: 'o', reason: 'r' }, 'requestId'],
      [{ requestId: 'r', reason: 'r' }, 'operatorId'],
      [{ requestId: 'r', operatorId: 'o' }, 'reason'],
      [{ requestId: 'r', operatorId: 'o', reason: 'r', offlineWindowS: 0 }, 'offlineWindowS'],
      [{ requestId: 'r', operatorId: 'o', reason: 'r', collectionCheckS: 1.5 }, 'collectionCheckS'],
      [{ requestId: 'r', operatorId: 'o', reason: 'r', pin: '123456' }, 'additional'],
    ];
    for (const [body, field] of cases) {
      const answer = await replace(cardNo, body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(400);
      expect(answer.json().error.message).toContain(field);
    }
    expect((await replace('ABCDEF012345', { requestId: 'r', operatorId: 'o', reason: 'r' })).statusCode).toBe(
      404,
    );
    expect(
      (await replace('not-a-card', { requestId: 'r', operatorId: 'o', reason: 'r' })).json().error.message,
    ).toContain('cardNo');
    const pending = await checkIn(school.pos, 3);
    expect(pending.statusCode).toBe(409);
    expect(pending.json().error.code).toBe('terminal_has_pending_records');
    expect((await checkIn('NO-SUCH-POS')).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/api/cards/${cardNo}/replacements` })).statusCode).toBe(
      404,
    );
    const untouched = await running.db.query(
      `select (select status from cards where card_no = $1) as status,
              (select count(*)::int from terminal_collections where terminal_id = $2) as collections`,
      [cardNo, school.pos],
    );
    expect(untouched.rows[0]).toEqual({ status: 'active', collections: 0 });
  });

  test('its history, recorded, replays on the current code', async () => {
    expect(recordedCardNo).not.toBe('');
    const handle = running.client.workflow.getHandle(workflowIds.cardReplacement(recordedCardNo));
    const history = await handle.fetchHistory();
    if (process.env.RECORD_HISTORIES === '1')
      fs.writeFileSync(path.join(historiesDir, 'card-replacement.json'), historyToJSON(history));
    const bundle = await workflowBundle(pino({ level: 'warn' }));
    const replays = Worker.runReplayHistories({ workflowBundle: bundle }, [
      { workflowId: handle.workflowId, history },
    ]);
    for await (const replay of replays) expect(replay.error, replay.workflowId).toBeUndefined();
  });
});
