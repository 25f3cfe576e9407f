import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { buildApp } from '../../api/app.ts';
import { workflowBundle } from '../../worker/bundle.ts';
import { queryNames, signalNames, workflowIds } from '../../workflows/names.ts';
import type { LostCardResult, LostCardState } from '../../workflows/lost-card/workflow.ts';
import { createCards, createSchool } from '../ledger/fixture.ts';
import { bindParent, eventually } from '../bank/fixture.ts';
import { stackConfig } from '../support/env.ts';
import { startTestWorker, type RunningWorker } from '../support/worker.ts';

const historiesDir = path.join(import.meta.dirname, 'histories');
const taskQueue = 'test-lost-card';
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

/** A card with a parent bound to it (the phone the 挂失 text goes to). */
async function boundCard(): Promise<{ cardNo: string; phone: string }> {
  const school = await createSchool(running.db);
  const [cardNo] = await createCards(running.db, school, 1);
  const phone = await bindParent(app, cardNo!);
  return { cardNo: cardNo!, phone };
}

const report = (cardNo: string, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/api/cards/${cardNo}/loss-reports`, payload: body });
const state = (cardNo: string) =>
  running.client.workflow
    .getHandle(workflowIds.lostCard(cardNo))
    .query<LostCardState>(queryNames.lostCardState);
const frozenState = (cardNo: string) =>
  eventually(
    () => state(cardNo),
    (s) => s.phase === 'frozen' && s.parentNotified !== undefined,
  );
const cardRow = async (cardNo: string) =>
  (await running.db.query(`select status from cards where card_no = $1`, [cardNo])).rows[0]?.status as string;
const entry = async (cardNo: string) =>
  (
    await running.db.query(
      `select priority, added_version::int as added, removed_version::int as removed from blacklist_entries where card_no = $1`,
      [cardNo],
    )
  ).rows[0] as { priority: boolean; added: number; removed: number | null } | undefined;
const textsTo = async (phone: string) =>
  (
    await running.db.query(
      `select template, body from sms_messages where to_phone = $1 order by message_id`,
      [phone],
    )
  ).rows as Array<{ template: string; body: string }>;

describe('lost-card freezing (挂失)', () => {
  let recordedCardNo = '';

  test('a web report freezes the card, lists it with priority, texts the parent; 解挂 undoes all three', async () => {
    const { cardNo, phone } = await boundCard();
    recordedCardNo = cardNo;
    const first = await report(cardNo, { requestId: 'web-1', channel: 'web', operatorId: 'parent-web' });
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json()).toEqual({ workflowId: `lost-card/${cardNo}`, started: true });
    const frozen = await frozenState(cardNo);
    expect(frozen).toMatchObject({ phase: 'frozen', alreadyFrozen: false, parentNotified: true });
    expect(await cardRow(cardNo)).toBe('frozen');
    expect(await entry(cardNo)).toMatchObject({
      priority: true,
      added: frozen.blacklistVersion,
      removed: null,
    });
    expect((await textsTo(phone)).map((t) => t.template)).toEqual(['card_frozen']);
    expect((await textsTo(phone))[0]!.body).toContain('挂失');
    // The card office's own step did the freeze, with its audit row under the workflow's key.
    const audit = await running.db.query(
      `select action, request_key from card_office_audit where card_no = $1 order by 1`,
      [cardNo],
    );
    expect(audit.rows).toEqual([
      { action: 'freeze', request_key: expect.stringMatching(/^lost-card\/[0-9A-F]+\/[0-9a-f-]+\/1$/) },
    ]);

    // A second report (the parent's SMS after the web) is answered with the running process.
    const again = await report(cardNo, { requestId: 'sms-1', channel: 'parent_sms', operatorId: 'sms' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual({ workflowId: `lost-card/${cardNo}`, started: false });

    const unfreeze = await app.inject({
      method: 'POST',
      url: `/api/cards/${cardNo}/unfreeze-requests`,
      payload: { operatorId: 'office-1', reason: '卡已找回' },
    });
    expect(unfreeze.statusCode, unfreeze.body).toBe(202);
    const result = (await running.client.workflow
      .getHandle(workflowIds.lostCard(cardNo))
      .result()) as LostCardResult;
    expect(result).toMatchObject({
      phase: 'unfrozen',
      unfreeze: { operatorId: 'office-1', reason: '卡已找回' },
    });
    expect(await cardRow(cardNo)).toBe('active');
    expect(await entry(cardNo)).toMatchObject({ removed: result.withdrawnVersion });
    expect(result.withdrawnVersion).toBeGreaterThan(result.blacklistVersion!);
    expect((await textsTo(phone)).map((t) => t.template)).toEqual(['card_frozen', 'card_unfrozen']);

    // Lost again after 解挂: a new run under the same business key.
    const later = await report(cardNo, {
      requestId: 'web-2',
      channel: 'card_office',
      operatorId: 'office-1',
    });
    expect(later.statusCode, later.body).toBe(202);
    expect(await frozenState(cardNo)).toMatchObject({ phase: 'frozen', alreadyFrozen: false });
    expect(await cardRow(cardNo)).toBe('frozen');
    expect(await entry(cardNo)).toMatchObject({ priority: true, removed: null });
    await running.client.workflow
      .getHandle(workflowIds.lostCard(cardNo))
      .signal(signalNames.cardReplaced, { operatorId: 'office-1' });
    await running.client.workflow.getHandle(workflowIds.lostCard(cardNo)).result();
  });

  test('a replacement ends it with the card still frozen and listed', async () => {
    const { cardNo } = await boundCard();
    expect(
      (await report(cardNo, { requestId: 'o-1', channel: 'card_office', operatorId: 'o' })).statusCode,
    ).toBe(202);
    await frozenState(cardNo);
    const handle = running.client.workflow.getHandle(workflowIds.lostCard(cardNo));
    await handle.signal(signalNames.cardReplaced, {
      operatorId: 'office-2',
      replacementWorkflowId: `card-replacement/${cardNo}`,
    });
    const result = (await handle.result()) as LostCardResult;
    expect(result).toMatchObject({ phase: 'replaced', replacement: { operatorId: 'office-2' } });
    expect(await cardRow(cardNo)).toBe('frozen');
    expect(await entry(cardNo)).toMatchObject({ priority: true, removed: null });
  });

  test('a card frozen at the counter first is still listed and the parent told', async () => {
    const { cardNo, phone } = await boundCard();
    await running.db.query(`update cards set status = 'frozen' where card_no = $1`, [cardNo]);
    expect(
      (await report(cardNo, { requestId: 'o-2', channel: 'card_office', operatorId: 'o' })).statusCode,
    ).toBe(202);
    expect(await frozenState(cardNo)).toMatchObject({ alreadyFrozen: true, parentNotified: true });
    expect(await entry(cardNo)).toMatchObject({ priority: true, removed: null });
    expect((await textsTo(phone)).length).toBe(1);
    await running.client.workflow
      .getHandle(workflowIds.lostCard(cardNo))
      .signal(signalNames.cardReplaced, { operatorId: 'o' });
  });

  test('a parent texting 挂失 reports the card bound to that phone; with two cards, the last four say which', async () => {
    const { cardNo, phone } = await boundCard();
    const text = (body: string) =>
      app.inject({ method: 'POST', url: '/api/sms/outbox/replies', payload: { from: phone, text: body } });
    expect((await text('挂失')).statusCode).toBe(202);
    expect(await frozenState(cardNo)).toMatchObject({ phase: 'frozen', parentNotified: true });
    const inbound = await running.db.query(
      `select outcome, workflow_id from sms_messages where from_phone = $1 and direction = 'inbound'`,
      [phone],
    );
    expect(inbound.rows).toEqual([{ outcome: 'loss_reported', workflow_id: `lost-card/${cardNo}` }]);

    // A second pupil bound to the same phone: 挂失 alone is unclear, 挂失 with the last four is not.
    const school = await createSchool(running.db);
    const [second] = await createCards(running.db, school, 1);
    await bindParent(app, second!, phone);
    await running.client.workflow
      .getHandle(workflowIds.lostCard(cardNo))
      .signal(signalNames.unfreezeCard, { operatorId: 'o', reason: '找到了' });
    await eventually(cardRow.bind(null, cardNo), (status) => status === 'active');
    expect((await text('GS')).statusCode).toBe(202);
    expect([await cardRow(cardNo), await cardRow(second!)]).toEqual(['active', 'active']);
    expect((await text(`挂失 ${second!.slice(-4).toLowerCase()}`)).statusCode).toBe(202);
    expect(await frozenState(second!)).toMatchObject({ phase: 'frozen' });
    expect(await cardRow(cardNo)).toBe('active');
    const outcomes = await running.db.query(
      `select outcome from sms_messages where from_phone = $1 and direction = 'inbound' order by message_id`,
      [phone],
    );
    expect(outcomes.rows.map((r) => r.outcome)).toEqual([
      'loss_reported',
      'loss_report_unclear',
      'loss_reported',
    ]);
    await running.client.workflow
      .getHandle(workflowIds.lostCard(second!))
      .signal(signalNames.cardReplaced, { operatorId: 'o' });
  });

  test('a freeze at the card office counter starts the same process; an unfreeze there ends it', async () => {
    const { cardNo, phone } = await boundCard();
    const counter = (action: string, requestId: string, reason: string) =>
      app.inject({
        method: 'POST',
        url: `/api/card-office/cards/${cardNo}/${action}`,
        payload: { requestId, operatorId: 'office-3', reason },
      });
    expect((await counter('freeze', 'counter-1', '窗口挂失')).statusCode).toBe(200);
    expect(await frozenState(cardNo)).toMatchObject({ alreadyFrozen: true, parentNotified: true });
    expect(await entry(cardNo)).toMatchObject({ priority: true, removed: null });
    expect((await counter('unfreeze', 'counter-2', '窗口解挂')).statusCode).toBe(200);
    const result = (await running.client.workflow
      .getHandle(workflowIds.lostCard(cardNo))
      .result()) as LostCardResult;
    expect(result).toMatchObject({
      phase: 'unfrozen',
      unfreeze: { operatorId: 'office-3', reason: '窗口解挂' },
    });
    expect(await cardRow(cardNo)).toBe('active');
    expect((await entry(cardNo))?.removed).toBe(result.withdrawnVersion);
    expect((await textsTo(phone)).map((t) => t.template)).toEqual(['card_frozen', 'card_unfrozen']);
  });

  test('bad input gets a 4xx naming the field and starts nothing', async () => {
    const { cardNo } = await boundCard();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [cardNo, { channel: 'web', operatorId: 'p' }, 'requestId'],
      [cardNo, { requestId: 'r', channel: 'fax', operatorId: 'p' }, 'channel'],
      [cardNo, { requestId: 'r', channel: 'web' }, 'operatorId'],
      [cardNo, { requestId: 'r', channel: 'web', operatorId: 'p', extra: 1 }, 'additional'],
      ['not-a-card', { requestId: 'r', channel: 'web', operatorId: 'p' }, 'cardNo'],
    ];
    for (const [no, body, field] of cases) {
      const answer = await report(no, body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(400);
      expect(answer.json().error.message).toContain(field);
    }
    const unknown = await report('ABCDEF012345', { requestId: 'r', channel: 'web', operatorId: 'p' });
    expect(unknown.statusCode).toBe(404);
    const noReport = await app.inject({
      method: 'POST',
      url: `/api/cards/${cardNo}/unfreeze-requests`,
      payload: { operatorId: 'o', reason: 'found' },
    });
    expect(noReport.statusCode).toBe(409);
    expect(noReport.json().error.code).toBe('card_is_not_lost');
    const noReason = await app.inject({
      method: 'POST',
      url: `/api/cards/${cardNo}/unfreeze-requests`,
      payload: { operatorId: 'o' },
    });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.message).toContain('reason');
    expect(await cardRow(cardNo)).toBe('active');
    expect(await entry(cardNo)).toBeUndefined();
  });

  test('its history, recorded, replays on the current code', async () => {
    expect(recordedCardNo).not.toBe('');
    // The first run of the card (frozen, then unfrozen), not the later one under the same id.
    const handle = running.client.workflow.getHandle(workflowIds.lostCard(recordedCardNo));
    const runs = running.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` });
    let firstRunId: string | undefined;
    let firstStart = Infinity;
    for await (const run of runs) {
      if (run.startTime.getTime() < firstStart) {
        firstStart = run.startTime.getTime();
        firstRunId = run.runId;
      }
    }
    const history = await running.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory();
    if (process.env.RECORD_HISTORIES === '1')
      fs.writeFileSync(path.join(historiesDir, 'lost-card.json'), historyToJSON(history));
    const bundle = await workflowBundle(pino({ level: 'warn' }));
    const replays = Worker.runReplayHistories({ workflowBundle: bundle }, [
      { workflowId: handle.workflowId, history },
    ]);
    for await (const replay of replays) expect(replay.error, replay.workflowId).toBeUndefined();
  });
});
