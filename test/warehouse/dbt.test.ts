import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { applyWarehouseSchema } from '../../warehouse/schema/apply.ts';
import { dbtProjectDir, runDbt, type DbtEvent } from '../../warehouse/dbt/dbt.ts';
import { ensureDbtVenv } from '../../warehouse/dbt/venv.ts';
import { startWarehouse, type StartedWarehouse } from './start-warehouse.ts';

let wh: StartedWarehouse;
let client: ClickHouseClient;
let url: string;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onecard-dbt-'));
const events: DbtEvent[] = [];
const target = (name: string) => path.join(tmp, `target-${name}`);

beforeAll(async () => {
  // First run creates .tools/dbt-venv (pip, ~20 s with a warm pip cache); later runs only check the stamp.
  await ensureDbtVenv({ onProgress: (l) => process.stdout.write(`[dbt venv] ${l}\n`) });
  wh = await startWarehouse({ systemPassword: 'dbt-Secret-' + Date.now() });
  url = new URL(wh.url).origin.replace('http://', `http://onecard:${encodeURIComponent(wh.systemPassword)}@`);
  client = createClient({ url: wh.url, username: 'onecard', password: wh.systemPassword });
  await applyWarehouseSchema(client);
  await client.insert({
    table: 'onecard.self_checks',
    format: 'JSONEachRow',
    values: [
      { check_id: 'run-1', started_at: '2026-09-01 07:00:00.000', component: 'postgres', detail: 'ok' },
      { check_id: 'run-1', started_at: '2026-09-01 07:00:00.000', component: 'warehouse', detail: 'ok' },
      {
        check_id: 'run-2',
        started_at: '2026-09-02 07:00:00.000',
        component: 'postgres',
        detail: 'slow: 900 ms',
      },
    ],
  });
}, 900_000);

afterAll(async () => {
  await client?.close();
  await wh?.stop();
});

describe('dbt through execa against the warehouse', () => {
  it('dbt debug connects', async () => {
    const r = await runDbt('debug', {
      clickhouseUrl: url,
      targetPath: target('debug'),
      onEvent: (e) => events.push(e),
    });
    expect(r.errors).toEqual([]);
    expect(r.success).toBe(true);
  }, 120_000);

  it('dbt run builds the staging view and the mart', async () => {
    const started: string[] = [];
    const r = await runDbt('run', {
      clickhouseUrl: url,
      targetPath: target('run'),
      // The data center's models are tested in test/datacenter/; this test is about the wrapper.
      args: ['--select', 'stg_self_checks', 'self_check_component_status'],
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'node-started') started.push(e.uniqueId);
      },
    });
    expect(r.success).toBe(true);
    expect(r.results.map((x) => [x.uniqueId, x.status]).sort()).toEqual([
      ['model.onecard_warehouse.self_check_component_status', 'success'],
      ['model.onecard_warehouse.stg_self_checks', 'success'],
    ]);
    expect(started).toContain('model.onecard_warehouse.stg_self_checks');
    const rs = await client.query({
      query:
        'SELECT component, last_check_id, last_detail, checks FROM onecard_analytics.self_check_component_status ORDER BY component',
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { component: 'postgres', last_check_id: 'run-2', last_detail: 'slow: 900 ms', checks: 2 },
      { component: 'warehouse', last_check_id: 'run-1', last_detail: 'ok', checks: 1 },
    ]);
    // A second run replaces the table (EXCHANGE TABLES on chDB) and still succeeds.
    const again = await runDbt('run', {
      clickhouseUrl: url,
      targetPath: target('run2'),
      args: ['--select', 'stg_self_checks', 'self_check_component_status'],
    });
    expect(again.success).toBe(true);
  }, 180_000);

  it('dbt test passes on clean data, then reports a failing uniqueness test with its failure count', async () => {
    const ok = await runDbt('test', {
      clickhouseUrl: url,
      targetPath: target('test'),
      args: ['--select', 'stg_self_checks', 'self_check_component_status', 'source:onecard.self_checks'],
    });
    expect(ok.success).toBe(true);
    expect(ok.results.length).toBeGreaterThanOrEqual(10);
    expect(ok.results.every((x) => x.status === 'pass')).toBe(true);

    await client.insert({
      table: 'onecard.self_checks',
      format: 'JSONEachRow',
      values: [
        {
          check_id: 'run-2',
          started_at: '2026-09-02 07:00:00.000',
          component: 'postgres',
          detail: 'duplicate',
        },
      ],
    });
    const bad = await runDbt('test', {
      clickhouseUrl: url,
      targetPath: target('test-bad'),
      args: ['--select', 'stg_self_checks'],
    });
    expect(bad.success).toBe(false);
    const failed = bad.results.find((x) => x.status === 'fail');
    expect(failed?.uniqueId).toContain('unique_stg_self_checks_check_component_key');
    expect(failed?.failures).toBe(1);
  }, 180_000);

  it('returns a clear failed result naming a model with bad SQL', async () => {
    const project = path.join(tmp, 'project');
    for (const f of ['dbt_project.yml', 'profiles.yml', 'models'])
      fs.cpSync(path.join(dbtProjectDir, f), path.join(project, f), { recursive: true });
    fs.writeFileSync(
      path.join(project, 'models', 'broken_model.sql'),
      'select no_such_column from {{ ref("stg_self_checks") }}\n',
    );
    const r = await runDbt('run', {
      clickhouseUrl: url,
      projectDir: project,
      targetPath: target('broken'),
      args: ['--select', 'broken_model'],
    });
    expect(r.success).toBe(false);
    expect(r.results).toHaveLength(1);
    expect(r.results[0]!.uniqueId).toBe('model.onecard_warehouse.broken_model');
    expect(r.results[0]!.status).toBe('error');
    expect(r.results[0]!.message).toMatch(/no_such_column/);
  }, 120_000);

  it('turns connection refused into a failed result, not a throw', async () => {
    const r = await runDbt('debug', {
      clickhouseUrl: 'http://onecard:nope@127.0.0.1:9',
      targetPath: target('refused'),
    });
    expect(r.success).toBe(false);
    expect(r.errors.join('\n')).toMatch(/connection|refused|Connection test/i);
  }, 120_000);

  it('never lets the password reach an event', () => {
    expect(events.length).toBeGreaterThan(10);
    expect(events.some((e) => e.message.includes(wh.systemPassword))).toBe(false);
  });
});
