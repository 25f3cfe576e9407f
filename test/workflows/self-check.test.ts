import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Worker } from '@temporalio/worker';
import pino from 'pino';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { workflowBundle } from '../../worker/bundle.ts';
import { workflowIds } from '../../workflows/names.ts';
import { selfCheck } from '../../workflows/self-check/workflow.ts';
import { startTestWorker, type RunningWorker } from '../support/worker.ts';

const historiesDir = path.join(import.meta.dirname, 'histories');
let running: RunningWorker;

beforeAll(async () => {
  running = await startTestWorker('test-self-check');
});
afterAll(async () => {
  await running?.stop();
});

async function rowsFor(checkId: string) {
  const postgres = await running.db.query(
    'select count(*)::int as n from system_self_checks where check_id = $1',
    [checkId],
  );
  const warehouse = await running.warehouse.query({
    query: 'select count() as n from onecard.self_checks where check_id = {checkId:String}',
    query_params: { checkId },
    format: 'JSONEachRow',
  });
  const [{ n }] = (await warehouse.json<{ n: string }>()) as [{ n: string }];
  return { postgres: postgres.rows[0].n as number, warehouse: Number(n) };
}

describe('self-check workflow against the real dev server', () => {
  const checkId = `test-${Date.now()}`;
  const workflowId = workflowIds.selfCheck(checkId);

  test('writes one row to PostgreSQL and one to the warehouse', async () => {
    const result = await running.client.workflow.execute(selfCheck, {
      workflowId,
      taskQueue: running.taskQueue,
      args: [{ checkId, requestedAt: new Date().toISOString() }],
    });
    expect(result.workflowId).toBe(workflowId);
    expect(result.writes.map((write) => [write.component, write.inserted])).toEqual([
      ['postgres', true],
      ['warehouse', true],
    ]);
    expect(result.writes[0]!.serverVersion).toMatch(/^18\./);
    expect(await rowsFor(checkId)).toEqual({ postgres: 1, warehouse: 1 });
  });

  test('a second run for the same check finds its rows and writes none (activities are idempotent)', async () => {
    const again = await running.client.workflow.execute(selfCheck, {
      workflowId: `${workflowId}/again`,
      taskQueue: running.taskQueue,
      args: [{ checkId, requestedAt: new Date().toISOString() }],
    });
    expect(again.writes.map((write) => write.inserted)).toEqual([false, false]);
    expect(await rowsFor(checkId)).toEqual({ postgres: 1, warehouse: 1 });
  });

  test('its history, and every recorded history, replays on the current code', async () => {
    const history = await running.client.workflow.getHandle(workflowId).fetchHistory();
    // RECORD_HISTORIES=1 refreshes the committed history (in the format of `temporal workflow show --output json`).
    if (process.env.RECORD_HISTORIES === '1') {
      fs.writeFileSync(path.join(historiesDir, 'self-check.json'), historyToJSON(history));
    }
    const recorded = fs
      .readdirSync(historiesDir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => ({
        workflowId: file,
        history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(historiesDir, file), 'utf8'))),
      }));
    expect(recorded.length).toBeGreaterThan(0);
    const bundle = await workflowBundle(pino({ level: 'warn' }));
    const replays = Worker.runReplayHistories({ workflowBundle: bundle }, [
      { workflowId, history },
      ...recorded,
    ]);
    let count = 0;
    for await (const replay of replays) {
      expect(replay.error, `replay of ${replay.workflowId}`).toBeUndefined();
      count++;
    }
    expect(count).toBe(1 + recorded.length);
  });
});
