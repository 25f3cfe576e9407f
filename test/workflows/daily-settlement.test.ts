// 日结 against the real Temporal dev server, PostgreSQL and (for the report refresh) a warehouse of its
// own with the real dbt build: the statement, finance's approval rules, the journal and payout file, a
// rejection and a new revision, the nightly run over every department, and the recorded history replayed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { buildApp } from '../../api/app.ts';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { placeholderTac } from '../../core/ledger/offline/tac.ts';
import { createWarehouseClient, type ClickHouseClient } from '../../core/warehouse-client.ts';
import { applyWarehouseSchema } from '../../warehouse/schema/apply.ts';
import { createReportsRefresher } from '../../warehouse/nightly-refresh.ts';
import { businessDate } from '../../core/ledger/calendar.ts';
import { workflowBundle } from '../../worker/bundle.ts';
import { queryNames, signalNames, workflowIds, workflowTypes } from '../../workflows/names.ts';
import type {
  DailySettlementResult,
  DailySettlementState,
} from '../../workflows/daily-settlement/workflow.ts';
import {
  createCards,
  createSchool,
  fund,
  scopedLedgerCheck,
  uniqueId,
  type School,
} from '../ledger/fixture.ts';
import { eventually } from '../bank/fixture.ts';
import { stackConfig } from '../support/env.ts';
import { startTestWorker, type RunningWorker } from '../support/worker.ts';
import { startWarehouse, type StartedWarehouse } from '../warehouse/start-warehouse.ts';

const historiesDir = path.join(import.meta.dirname, 'histories');
const taskQueue = 'test-daily-settlement';
let running: RunningWorker;
let app: FastifyInstance;
let reportsWarehouse: StartedWarehouse;
let reportsClient: ClickHouseClient;
/** The report refresher's own pool: it is made before the worker that owns the others. */
let reportsDb: Pool;
let reportsUrl: string;

beforeAll(async () => {
  // The report refresh builds the marts on a warehouse of its own, so other suites' builds are not disturbed.
  reportsWarehouse = await startWarehouse({ systemPassword: `settle-${Date.now()}` });
  const url = new URL(reportsWarehouse.url).origin.replace(
    'http://',
    `http://onecard:${encodeURIComponent(reportsWarehouse.systemPassword)}@`,
  );
  reportsUrl = url;
  reportsClient = createWarehouseClient(url);
  await applyWarehouseSchema(reportsClient);
  const config = stackConfig();
  reportsDb = createPool(config.DATABASE_URL, { max: 3 });
  const db = reportsDb;
  running = await startTestWorker(taskQueue, {
    reports: createReportsRefresher({
      db,
      warehouse: reportsClient,
      clickhouseUrl: url,
      targetPath: fs.mkdtempSync(path.join(os.tmpdir(), 'onecard-settle-dbt-')),
    }),
  });
  app = await buildApp({ ...config, TEMPORAL_TASK_QUEUE: taskQueue }, pino({ level: 'error' }));
}, 240_000);
afterAll(async () => {
  await app?.close();
  await running?.stop();
  await reportsDb?.end();
  await reportsClient?.close();
  await reportsWarehouse?.stop();
});

/** A business day of its own for each case, far from the days other suites write. */
const aDay = () =>
  `2025-${String(randomInt(1, 13)).padStart(2, '0')}-${String(randomInt(1, 29)).padStart(2, '0')}`;

interface Fixture {
  school: School;
  departmentId: string;
  cards: string[];
}

/** A school whose canteen (with its managed stall) settles under a department of its own. */
async function department(): Promise<Fixture> {
  const school = await createSchool(running.db);
  const departmentId = uniqueId('DEP');
  await running.db.query(
    `insert into settlement_departments (department_id, school_id, name) values ($1, $2, '后勤结算部')`,
    [departmentId, school.schoolId],
  );
  await running.db.query(`update merchants set department_id = $1 where merchant_id in ($2, $3)`, [
    departmentId,
    school.canteenId,
    school.managedStallId,
  ]);
  const cards = await createCards(running.db, school, 3);
  await fund(running.db, school, cards, 10_000n);
  return { school, departmentId, cards };
}

let uploads = 0;
/** Offline records of that day, signed as the terminal's PSAM would, uploaded in one batch. */
async function sell(
  terminalId: string,
  day: string,
  records: Array<{ cardNo: string; counter: number; before: number; amount: number }>,
) {
  const at = `${day}T04:30:00.000Z`;
  const body = records.map((r, i) => {
    const seq = ++uploads * 10 + i;
    const after = r.before - r.amount;
    const tac = placeholderTac({
      cardNo: r.cardNo,
      cardCounter: r.counter,
      amountFen: BigInt(r.amount),
      balanceFenAfter: BigInt(after),
      terminalId,
      terminalSeq: seq,
      at,
    });
    return {
      terminalSeq: seq,
      cardNo: r.cardNo,
      cardCounter: r.counter,
      balanceFenBefore: r.before,
      amountFen: r.amount,
      balanceFenAfter: after,
      at,
      tac,
    };
  });
  const answer = await app.inject({
    method: 'POST',
    url: '/api/ledger/offline-uploads',
    payload: { uploadId: `settle-${terminalId}-${uploads}`, terminalId, records: body },
  });
  expect(answer.statusCode, answer.body).toBe(200);
  expect(answer.json().acceptedCount).toBe(records.length);
}

const grant = (operatorId: string, departmentId: string | null) =>
  app.inject({
    method: 'POST',
    url: '/api/finance/grants',
    payload: { operatorId, departmentId, grantedBy: 'bureau-admin' },
  });
const start = (body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/api/settlements', payload: body });
const statement = async (day: string, departmentId: string) =>
  (await app.inject({ method: 'GET', url: `/api/settlements/${day}/${departmentId}` })).json();
const decide = (day: string, departmentId: string, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/api/settlements/${day}/${departmentId}/decisions`, payload: body });
const handle = (day: string, departmentId: string) =>
  running.client.workflow.getHandle(workflowIds.dailySettlement(day, departmentId));
const awaiting = (day: string, departmentId: string) =>
  eventually(
    () => handle(day, departmentId).query<DailySettlementState>(queryNames.dailySettlementState),
    (s) => s.phase === 'awaiting_approval',
  );

describe('daily settlement with finance approval (日结)', () => {
  let recorded = { day: '', departmentId: '', runId: '' };

  test('a statement from the ledger, flagged, approved by finance: journal posted, payout file written, reports refreshed', async () => {
    const { school, departmentId, cards } = await department();
    const day = aDay();
    const [a, b, c] = cards as [string, string, string];
    await running.db.query(`update cards set status = 'frozen' where card_no = $1`, [c]);
    await sell(school.pos, day, [
      { cardNo: a, counter: 1, before: 10_000, amount: 1_200 },
      { cardNo: b, counter: 1, before: 10_000, amount: 800 },
    ]);
    // The managed stall's takings are its parent canteen's; the frozen card's record is booked and flagged.
    await sell(school.stallPos, day, [{ cardNo: c, counter: 1, before: 10_000, amount: 500 }]);
    const reported = await app.inject({
      method: 'PUT',
      url: `/api/terminals/${school.pos}/day-totals/${day}`,
      payload: { purchases: 2, amountFen: 1_900 },
    });
    expect(reported.statusCode, reported.body).toBe(200);
    expect((await grant('fin-lead', departmentId)).json()).toEqual({ granted: true });
    expect((await grant('clerk-1', null)).statusCode).toBe(200);

    const started = await start({ businessDate: day, departmentId, preparedBy: 'clerk-1' });
    expect(started.statusCode, started.body).toBe(202);
    expect(started.json()).toEqual({ workflowId: `daily-settlement/${day}/${departmentId}`, started: true });
    await awaiting(day, departmentId);
    const prepared = await statement(day, departmentId);
    expect(prepared).toMatchObject({
      state: 'awaiting_approval',
      revision: 1,
      preparedBy: 'clerk-1',
      totalFen: 2_500,
    });
    expect(prepared.lines).toEqual([
      expect.objectContaining({
        merchantId: school.canteenId,
        purchases: 3,
        purchaseFen: 2_500,
        offlinePurchases: 3,
        netFen: 2_500,
        payableFen: 2_500,
      }),
    ]);
    const kinds = prepared.flags
      .map((f: { kind: string; terminalId: string | null }) => `${f.kind}:${f.terminalId ?? ''}`)
      .sort();
    expect(kinds).toEqual(
      [
        `blacklisted_card_purchase:${school.stallPos}`,
        'offline_records:',
        `terminal_totals_differ:${school.pos}`,
        `terminal_totals_missing:${school.stallPos}`,
      ].sort(),
    );

    // The preparer may not approve, nor may someone without the grant; the API says which rule it was.
    const own = await decide(day, departmentId, { decision: 'approve', operatorId: 'clerk-1' });
    expect(own.statusCode).toBe(403);
    expect(own.json().error.code).toBe('preparer_cannot_approve');
    const stranger = await decide(day, departmentId, { decision: 'approve', operatorId: 'canteen-boss' });
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json().error.code).toBe('not_permitted');
    // A signal sent past the API is checked again by the process, refused, and the statement waits on.
    await handle(day, departmentId).signal(signalNames.settlementDecision, {
      decision: 'approve',
      operatorId: 'clerk-1',
    });
    const refused = await eventually(
      () => handle(day, departmentId).query<DailySettlementState>(queryNames.dailySettlementState),
      (s) => s.refusedDecisions.length > 0,
    );
    expect(refused).toMatchObject({
      phase: 'awaiting_approval',
      refusedDecisions: [{ operatorId: 'clerk-1', code: 'preparer_cannot_approve' }],
    });

    const approved = await decide(day, departmentId, { decision: 'approve', operatorId: 'fin-lead' });
    expect(approved.statusCode, approved.body).toBe(202);
    const result = (await handle(day, departmentId).result()) as DailySettlementResult;
    expect(result).toMatchObject({
      phase: 'settled',
      decision: { decision: 'approve', operatorId: 'fin-lead' },
      journal: { posted: 1, totalFen: 2_500 },
      payoutFile: { lines: 1 },
    });
    // The refresh ran the real dbt build on the report warehouse. It holds none of the day's events, so the
    // money check (warehouse against the ledger's totals) fails, is named, and the settlement stands.
    expect(result.reports).toMatchObject({ businessDate: day, success: false });
    const reports = result.reports as { models: number; failedTests: Array<{ test: string }> };
    expect(reports.models).toBeGreaterThan(10);
    expect(reports.failedTests.map((t) => t.test).join(' ')).toContain('check_ledger_daily_totals');

    const settled = await statement(day, departmentId);
    expect(settled).toMatchObject({ state: 'settled', decidedBy: 'fin-lead', reports: { success: false } });
    const journal = await running.db.query<{ kind: string; amount_fen: bigint; postings: string }>(
      `select t.kind, t.amount_fen, (select string_agg(a.subject_code || ':' || p.amount_fen, ' ' order by p.amount_fen)
                                      from ledger_postings p join accounts a using (account_id) where p.transaction_id = t.transaction_id) as postings
         from ledger_transactions t where t.request_key = $1`,
      [`settlement:daily-settlement/${day}/${departmentId}:${school.canteenId}`],
    );
    expect(journal.rows).toEqual([
      { kind: 'settlement', amount_fen: 2_500n, postings: '1002:-2500 2101:2500' },
    ]);
    const payable = await running.db.query(
      `select sum(balance_fen)::bigint as balance_fen from accounts where merchant_id = $1 and subject_code = '2101'`,
      [school.canteenId],
    );
    expect(payable.rows[0].balance_fen).toBe(0n);

    const file = await app.inject({
      method: 'GET',
      url: `/api/settlements/${day}/${departmentId}/payout-file`,
    });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toContain('text/csv');
    const lines = file.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toContain('商户编号');
    expect(lines[1]).toContain(`${school.canteenId},食堂,25.00,2500,${day}`);
    expect(lines[2]).toMatch(/^合计,1,,25\.00,2500,/);

    recorded = { day, departmentId, runId: (await handle(day, departmentId).describe()).runId };
    // Started again after it was settled: it finds the statement settled and posts nothing.
    expect((await start({ businessDate: day, departmentId, preparedBy: 'clerk-2' })).statusCode).toBe(202);
    const again = (await handle(day, departmentId).result()) as DailySettlementResult;
    expect(again.phase).toBe('settled');
    expect(again.journal).toBeUndefined();
    const count = await running.db.query(
      `select count(*)::int as n from ledger_transactions where kind = 'settlement' and merchant_id = $1`,
      [school.canteenId],
    );
    expect(count.rows[0].n).toBe(1);
    expect(await scopedLedgerCheck(running.db, school)).toEqual({
      differences: [],
      unbalanced: [],
      belowFloor: [],
    });
  }, 300_000);

  test('a rejected statement is prepared again as a new revision, and a late record of an earlier day is paid with it', async () => {
    const { school, departmentId, cards } = await department();
    const day = aDay();
    await sell(school.pos, day, [{ cardNo: cards[0]!, counter: 1, before: 10_000, amount: 300 }]);
    await grant('fin-lead', departmentId);
    expect(
      (await start({ businessDate: day, departmentId, preparedBy: 'clerk-1', refreshReports: false }))
        .statusCode,
    ).toBe(202);
    await awaiting(day, departmentId);
    const noReason = await decide(day, departmentId, { decision: 'reject', operatorId: 'fin-lead' });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.message).toContain('reason');
    expect(
      (
        await decide(day, departmentId, {
          decision: 'reject',
          operatorId: 'fin-lead',
          reason: '终端扎帐缺失',
        })
      ).statusCode,
    ).toBe(202);
    expect(await handle(day, departmentId).result()).toMatchObject({ phase: 'rejected' });
    expect(await statement(day, departmentId)).toMatchObject({
      state: 'rejected',
      decisionReason: '终端扎帐缺失',
    });
    expect(
      (await decide(day, departmentId, { decision: 'approve', operatorId: 'fin-lead' })).json().error.code,
    ).toBe('statement_not_awaiting_approval');

    // Meanwhile a record of the day before arrives: the new revision owes it too (through the day).
    const before = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    await sell(school.pos, before, [{ cardNo: cards[1]!, counter: 1, before: 10_000, amount: 450 }]);
    expect(
      (await start({ businessDate: day, departmentId, preparedBy: 'clerk-1', refreshReports: false }))
        .statusCode,
    ).toBe(202);
    await awaiting(day, departmentId);
    expect(await statement(day, departmentId)).toMatchObject({
      state: 'awaiting_approval',
      revision: 2,
      totalFen: 750,
      lines: [expect.objectContaining({ netFen: 300, payableFen: 750 })],
    });
    await decide(day, departmentId, { decision: 'approve', operatorId: 'fin-lead' });
    expect(await handle(day, departmentId).result()).toMatchObject({
      phase: 'settled',
      journal: { totalFen: 750 },
    });
  });

  test('a refresh of a day still open builds the marts and leaves that day out of the money check', async () => {
    // The launcher's first build refreshes today: its totals would race with the purchases still coming in.
    await department(); // its cards are topped up today
    const today = businessDate(new Date());
    const r = await createReportsRefresher({
      db: reportsDb,
      warehouse: reportsClient,
      clickhouseUrl: reportsUrl,
      targetPath: fs.mkdtempSync(path.join(os.tmpdir(), 'onecard-open-day-dbt-')),
    }).refresh(today);
    expect(r).toMatchObject({ businessDate: today, ledgerTotalsKinds: 0 });
    expect(r.models).toBeGreaterThan(10);
    const loaded = await reportsClient.query({
      query: 'select count() as n from onecard.ledger_daily_totals where business_date = {d:Date}',
      query_params: { d: today },
      format: 'JSONEachRow',
    });
    expect(Number((await loaded.json<{ n: string }>())[0]!.n)).toBe(0);
  }, 240_000);

  test('the nightly run starts one settlement per department, leaving one already running as it is', async () => {
    const { departmentId } = await department();
    const day = aDay();
    const mine = await start({
      businessDate: day,
      departmentId,
      preparedBy: 'clerk-1',
      refreshReports: false,
    });
    expect(mine.statusCode).toBe(202);
    const other = await department();
    const nightly = await running.client.workflow.execute(workflowTypes.nightlySettlement, {
      workflowId: `nightly-settlement/test-${day}-${other.departmentId}`,
      taskQueue,
      args: [{ businessDate: day, decisionWithinMs: 3_000, refreshReports: false }],
    });
    expect(nightly.businessDate).toBe(day);
    expect(nightly.alreadyRunning).toContain(`daily-settlement/${day}/${departmentId}`);
    expect(nightly.started).toContain(`daily-settlement/${day}/${other.departmentId}`);
    // Nobody decided within its time: the statement lapses, and the next night's carries what it owed.
    expect(await handle(day, other.departmentId).result()).toMatchObject({ phase: 'lapsed' });
    expect(await statement(day, other.departmentId)).toMatchObject({ state: 'lapsed' });
    await handle(day, departmentId).terminate('test over');
  }, 60_000);

  test('bad input gets a 4xx naming what is wrong, and writes nothing', async () => {
    const { school, departmentId } = await department();
    const cases: Array<[string, string, Record<string, unknown>, string]> = [
      ['POST', '/api/settlements', { departmentId, preparedBy: 'c' }, 'businessDate'],
      [
        'POST',
        '/api/settlements',
        { businessDate: '2025-02-30x', departmentId, preparedBy: 'c' },
        'businessDate',
      ],
      [
        'POST',
        '/api/settlements',
        { businessDate: '2025-02-03', departmentId: 'bad id', preparedBy: 'c' },
        'departmentId',
      ],
      ['POST', '/api/settlements', { businessDate: '2025-02-03', departmentId }, 'preparedBy'],
      [
        'POST',
        `/api/settlements/2025-02-03/${departmentId}/decisions`,
        { decision: 'maybe', operatorId: 'f' },
        'decision',
      ],
      ['POST', '/api/finance/grants', { operatorId: 'f' }, 'grantedBy'],
      [
        'PUT',
        `/api/terminals/${school.pos}/day-totals/2025-02-03`,
        { purchases: -1, amountFen: 0 },
        'purchases',
      ],
      [
        'PUT',
        `/api/terminals/${school.pos}/day-totals/2025-02-03`,
        { purchases: 1, amountFen: 1.5 },
        'amountFen',
      ],
    ];
    for (const [method, url, payload, field] of cases) {
      const answer = await app.inject({ method: method as 'POST', url, payload });
      expect(answer.statusCode, `${url} ${JSON.stringify(payload)}`).toBe(400);
      expect(answer.json().error.message).toContain(field);
    }
    expect(
      (await start({ businessDate: '2025-02-03', departmentId: 'NO-SUCH-DEP', preparedBy: 'c' })).statusCode,
    ).toBe(404);
    expect((await grant('f', 'NO-SUCH-DEP')).statusCode).toBe(404);
    expect(
      (await decide('2025-02-03', departmentId, { decision: 'approve', operatorId: 'f' })).statusCode,
    ).toBe(404);
    const put = (amountFen: number) =>
      app.inject({
        method: 'PUT',
        url: `/api/terminals/${school.pos}/day-totals/2025-02-03`,
        payload: { purchases: 1, amountFen },
      });
    expect((await put(100)).json()).toMatchObject({ replayed: false });
    expect((await put(100)).json()).toMatchObject({ replayed: true });
    const changed = await put(200);
    expect(changed.statusCode).toBe(409);
    expect(changed.json().error.code).toBe('exists_with_different_content');
    const written = await running.db.query(
      `select (select count(*)::int from settlement_statements where department_id = $1) as statements,
              (select amount_fen from terminal_day_totals where terminal_id = $2 and business_date = '2025-02-03') as reported`,
      [departmentId, school.pos],
    );
    expect(written.rows[0]).toEqual({ statements: 0, reported: 100n });
  });

  test('its history, recorded, replays on the current code', async () => {
    expect(recorded.day).not.toBe('');
    const workflowId = workflowIds.dailySettlement(recorded.day, recorded.departmentId);
    const history = await running.client.workflow.getHandle(workflowId, recorded.runId).fetchHistory();
    if (process.env.RECORD_HISTORIES === '1')
      fs.writeFileSync(path.join(historiesDir, 'daily-settlement.json'), historyToJSON(history));
    const bundle = await workflowBundle(pino({ level: 'warn' }));
    const replays = Worker.runReplayHistories({ workflowBundle: bundle }, [{ workflowId, history }]);
    for await (const replay of replays) expect(replay.error).toBeUndefined();
  });
});
