import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { workflowBundle } from '../../worker/bundle.ts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listCard } from '../../core/blacklist/entries.ts';
import { confirmBlacklist, fetchBlacklist } from '../../core/blacklist/distribution.ts';
import { workflowIds } from '../../workflows/names.ts';
import { blacklistUpkeep } from '../../workflows/blacklist-upkeep/workflow.ts';
import { createCards, createSchool } from '../ledger/fixture.ts';
import { startTestWorker, type RunningWorker } from '../support/worker.ts';

let running: RunningWorker;

beforeAll(async () => {
  running = await startTestWorker('test-blacklist-upkeep');
});
afterAll(async () => {
  await running?.stop();
});

describe('the blacklist upkeep workflow (a timer between rounds)', () => {
  test('prunes a cancelled card past the offline window and alerts once on a silent terminal', async () => {
    const { db } = running;
    const school = await createSchool(db);
    const [cancelled, live] = await createCards(db, school, 2);
    await listCard(db, { cardNo: cancelled!, reason: 'test', priority: false });
    await listCard(db, { cardNo: live!, reason: 'test', priority: false });
    await db.query(
      `update cards set status = 'cancelled', status_changed_at = now() - interval '1 hour' where card_no = $1`,
      [cancelled],
    );
    const prefix = `UPKEEP-${randomBytes(4).toString('hex')}-`;
    const terminal = `${prefix}POS`;
    const held = await fetchBlacklist(db, { terminalId: terminal, since: 0 });
    await confirmBlacklist(db, { terminalId: terminal, version: held.version });
    // A change the terminal never confirms.
    await listCard(db, {
      cardNo: `U${randomBytes(5).toString('hex').toUpperCase()}`,
      reason: 't',
      priority: false,
    });

    const workflowId = workflowIds.blacklistUpkeep(`test-${randomBytes(4).toString('hex')}`);
    const result = await running.client.workflow.execute(blacklistUpkeep, {
      workflowId,
      taskQueue: running.taskQueue,
      args: [
        {
          offlineWindowMs: 60_000,
          confirmWithinMs: 300,
          intervalMs: 500,
          rounds: 3,
          terminalIdPrefix: prefix,
        },
      ],
    });
    expect(result.rounds).toBe(3);
    expect(result.alerted.filter((a) => a.terminalId === terminal)).toHaveLength(1);
    const { rows } = await db.query(
      `select card_no, removed_reason from blacklist_entries where card_no = any($1) order by card_no`,
      [[cancelled, live]],
    );
    expect(Object.fromEntries(rows.map((r) => [r.card_no, r.removed_reason]))).toEqual({
      [cancelled!]: 'cancelled_past_offline_window',
      [live!]: null,
    });
    const alerts = await db.query(
      `select count(*)::int as n from blacklist_distributions where terminal_id = $1 and kind = 'alert'`,
      [terminal],
    );
    expect(alerts.rows[0].n).toBe(1);

    // Its history, recorded with RECORD_HISTORIES=1 beside the others (replayed by the self-check suite).
    const history = await running.client.workflow.getHandle(workflowId).fetchHistory();
    if (process.env.RECORD_HISTORIES === '1')
      fs.writeFileSync(
        path.join(import.meta.dirname, '..', 'workflows', 'histories', 'blacklist-upkeep.json'),
        historyToJSON(history),
      );
    const bundle = await workflowBundle(pino({ level: 'warn' }));
    for await (const replay of Worker.runReplayHistories({ workflowBundle: bundle }, [
      { workflowId, history },
    ]))
      expect(replay.error, replay.workflowId).toBeUndefined();
  });
});
