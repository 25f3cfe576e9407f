// The dbt project on a warehouse of its own, with raw rows written as the relay writes them: the money
// check against the ledger's daily totals, the exception views, a failing model that must leave the
// previous build's mart in place, and `dbt docs generate`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { applyWarehouseSchema } from '../../warehouse/schema/apply.ts';
import { buildMarts } from '../../warehouse/dbt/build-marts.ts';
import { dbtProjectDir, runDbt } from '../../warehouse/dbt/dbt.ts';
import { ensureDbtVenv } from '../../warehouse/dbt/venv.ts';
import { execa } from 'execa';
import { repoRoot } from '../../core/paths.ts';
import { startWarehouse, type StartedWarehouse } from '../warehouse/start-warehouse.ts';

let wh: StartedWarehouse;
let client: ClickHouseClient;
let url: string;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onecard-marts-'));
const target = (name: string) => path.join(tmp, `target-${name}`);
const day = '2026-03-02';

const tx = (id: number, kind: string, amountFen: number, extra: Record<string, unknown> = {}) => ({
  event_id: id,
  transaction_id: id,
  kind,
  amount_fen: String(amountFen),
  school_id: 'S1',
  business_date: day,
  merchant_id: '',
  terminal_id: '',
  card_no: '',
  cardholder_id: 0,
  meal_period: '',
  original_transaction_id: 0,
  original_kind: '',
  method: '',
  batch_id: '',
  terminal_seq: -1,
  created_at: `${day} 04:00:00.000`,
  detail: '{}',
  ...extra,
});
const dim = (
  eventId: number,
  entity: string,
  key: string,
  row: Record<string, unknown>,
  at = `${day} 00:00:00.000`,
) => ({
  event_id: eventId,
  entity,
  entity_key: key,
  changed_at: at,
  row: JSON.stringify(row),
});

async function rows<T>(query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

beforeAll(async () => {
  wh = await startWarehouse({ systemPassword: 'marts-' + Date.now() });
  url = new URL(wh.url).origin.replace('http://', `http://onecard:${encodeURIComponent(wh.systemPassword)}@`);
  client = createClient({ url: wh.url, username: 'onecard', password: wh.systemPassword });
  await applyWarehouseSchema(client);
  const insert = (table: string, values: unknown[]) =>
    client.insert({ table: `onecard.${table}`, values, format: 'JSONEachRow' });
  await insert('dimension_changes', [
    dim(1, 'schools', 'S1', { school_id: 'S1', name: '一中', district: '南区', kind: 'middle' }),
    dim(2, 'merchants', 'M1', {
      merchant_id: 'M1',
      school_id: 'S1',
      name: '食堂',
      kind: 'canteen',
      settlement_kind: 'independent',
    }),
    dim(3, 'cardholders', '7', {
      cardholder_id: 7,
      school_id: 'S1',
      kind: 'student',
      person_no: 'P7',
      name: '甲',
      gender: 'F',
      grade: 7,
      class_name: '7-1',
    }),
    dim(4, 'cards', 'C7', {
      card_no: 'C7',
      cardholder_id: 7,
      category_id: 1,
      status: 'active',
      expires_on: '2099-12-31',
    }),
    // Blacklisted at 05:00 UTC on the day.
    dim(
      5,
      'cards',
      'C7',
      { card_no: 'C7', cardholder_id: 7, category_id: 1, status: 'blacklisted', expires_on: '2099-12-31' },
      `${day} 05:00:00.000`,
    ),
  ]);
  const purchase = { merchant_id: 'M1', card_no: 'C7', cardholder_id: 7, meal_period: 'lunch' };
  await insert('ledger_transactions', [
    tx(100, 'purchase', 1200, { ...purchase, created_at: `${day} 04:30:00.000` }),
    tx(101, 'offline_purchase', 800, { ...purchase, created_at: `${day} 06:00:00.000`, terminal_seq: 5 }),
    tx(102, 'reversal', 1200, {
      merchant_id: 'M1',
      card_no: 'C7',
      original_transaction_id: 100,
      original_kind: 'purchase',
    }),
    tx(103, 'top_up', 5000, { card_no: 'C7', cardholder_id: 7, method: 'cash' }),
  ]);
  // The relay delivered one event twice: staging must still count it once.
  await insert('ledger_transactions', [
    tx(103, 'top_up', 5000, { card_no: 'C7', cardholder_id: 7, method: 'cash' }),
  ]);
  const posting = (id: number, txId: number, kind: string, subject: string, fen: number) => ({
    event_id: txId,
    posting_id: id,
    transaction_id: txId,
    business_date: day,
    kind,
    account_id: id,
    subject_code: subject,
    unit_id: 'S1',
    merchant_id: '',
    cardholder_id: 0,
    wallet_kind: '',
    amount_fen: String(fen),
  });
  await insert('ledger_postings', [
    posting(1, 100, 'purchase', '200101', 1200),
    posting(2, 100, 'purchase', '2101', -1200),
    posting(3, 101, 'offline_purchase', '200101', 800),
    posting(4, 101, 'offline_purchase', '2101', -800),
    posting(5, 102, 'reversal', '2101', 1200),
    posting(6, 102, 'reversal', '200101', -1200),
    posting(7, 103, 'top_up', '1001', 5000),
    posting(8, 103, 'top_up', '200101', -5000),
  ]);
  await insert('purse_reports', [
    {
      event_id: 9,
      report_id: 1,
      card_no: 'C7',
      kind: 'balance_mismatch',
      record_key: 'k',
      detail: '{}',
      report_date: day,
      created_at: `${day} 06:00:00.000`,
    },
  ]);
  await insert('ledger_daily_totals', [
    {
      business_date: day,
      kind: 'purchase',
      transactions: 1,
      amount_fen: '1200',
      loaded_at: '2026-03-03 00:00:00.000',
    },
    {
      business_date: day,
      kind: 'offline_purchase',
      transactions: 1,
      amount_fen: '800',
      loaded_at: '2026-03-03 00:00:00.000',
    },
    {
      business_date: day,
      kind: 'reversal',
      transactions: 1,
      amount_fen: '1200',
      loaded_at: '2026-03-03 00:00:00.000',
    },
    {
      business_date: day,
      kind: 'top_up',
      transactions: 1,
      amount_fen: '5000',
      loaded_at: '2026-03-03 00:00:00.000',
    },
  ]);
}, 120_000);

afterAll(async () => {
  await client?.close();
  await wh?.stop();
});

describe('the marts on a warehouse of their own', () => {
  test('dbt build passes with the money check equal to the ledger, and the exception views find what they should', async () => {
    const build = await buildMarts({ clickhouseUrl: url, targetPath: target('build') });
    expect({ models: build.failedModels, tests: build.failedTests, errors: build.errors }).toEqual({
      models: [],
      tests: [],
      errors: [],
    });
    expect(
      await rows(
        `select transaction_kind, difference_fen from onecard_analytics.check_ledger_daily_totals order by transaction_kind`,
      ),
    ).toEqual([
      { transaction_kind: 'offline_purchase', difference_fen: 0 },
      { transaction_kind: 'purchase', difference_fen: 0 },
      { transaction_kind: 'reversal', difference_fen: 0 },
      { transaction_kind: 'top_up', difference_fen: 0 },
    ]);
    // The purchase booked at 04:30 came before the blacklisting at 05:00; the offline one booked at 06:00 after.
    expect(
      await rows(`select transaction_id, card_status_then from onecard_analytics.exc_blacklist_consumption`),
    ).toEqual([{ transaction_id: 101, card_status_then: 'blacklisted' }]);
    expect(
      await rows(
        `select transaction_id, original_kind, original_amount_fen from onecard_analytics.exc_reversals`,
      ),
    ).toEqual([{ transaction_id: 102, original_kind: 'purchase', original_amount_fen: 1200 }]);
    expect(
      await rows(
        `select merchant_id, purchases, net_takings_fen from onecard_analytics.mart_merchant_daily_takings`,
      ),
    ).toEqual([{ merchant_id: 'M1', purchases: 2, net_takings_fen: 800 }]);
    expect(
      await rows(`select finding_kind, school_id from onecard_analytics.exc_card_database_differences`),
    ).toEqual([{ finding_kind: 'balance_mismatch', school_id: 'S1' }]);
  }, 180_000);

  test('when the ledger says otherwise, the money check fails and names the day', async () => {
    await client.insert({
      table: 'onecard.ledger_daily_totals',
      format: 'JSONEachRow',
      values: [
        {
          business_date: day,
          kind: 'top_up',
          transactions: 2,
          amount_fen: '7000',
          loaded_at: '2026-03-04 00:00:00.000',
        },
      ],
    });
    const build = await buildMarts({
      clickhouseUrl: url,
      targetPath: target('mismatch'),
      args: ['--select', '+check_ledger_daily_totals'],
    });
    expect(build.success).toBe(false);
    expect(build.failedModels).toEqual([]);
    expect(build.failedTests).toEqual([
      expect.objectContaining({
        test: expect.stringContaining('accepted_values_check_ledger_daily_totals_difference_fen'),
        failures: 1,
      }),
    ]);
    expect(
      await rows(
        `select business_date, difference_fen from onecard_analytics.check_ledger_daily_totals where difference_fen != 0`,
      ),
    ).toEqual([{ business_date: day, difference_fen: -2000 }]);
  }, 120_000);

  test('a failing model leaves the previous build of its mart in place and says which model failed and why', async () => {
    const project = path.join(tmp, 'project');
    for (const f of ['dbt_project.yml', 'profiles.yml', 'models', 'macros'])
      fs.cpSync(path.join(dbtProjectDir, f), path.join(project, f), { recursive: true });
    const model = path.join(project, 'models', 'marts', 'merchants', 'mart_merchant_daily_takings.sql');
    fs.writeFileSync(
      model,
      fs.readFileSync(model, 'utf8').replace('takings.net_takings_fen,', 'takings.no_such_column,'),
    );
    // As the nightly build runs: the model's unit test fails first, and the model is skipped.
    const nightly = await buildMarts({
      clickhouseUrl: url,
      projectDir: project,
      targetPath: target('broken'),
      args: ['--select', 'mart_merchant_daily_takings+'],
    });
    expect(nightly.success).toBe(false);
    expect(nightly.failedTests).toEqual([
      expect.objectContaining({
        test: expect.stringContaining('mart_merchant_daily_takings.takings_are_purchases'),
        message: expect.stringMatching(/no_such_column/),
      }),
    ]);
    expect(nightly.skipped).toContain('mart_merchant_daily_takings');
    // Without unit tests the model itself fails, and is named with the database's reason.
    const build = await buildMarts({
      clickhouseUrl: url,
      projectDir: project,
      targetPath: target('broken-model'),
      args: ['--select', 'mart_merchant_daily_takings+', '--exclude-resource-type', 'unit_test'],
    });
    expect(build.success).toBe(false);
    expect(build.failedModels).toEqual([
      { model: 'mart_merchant_daily_takings', message: expect.stringMatching(/no_such_column/) },
    ]);
    expect(build.skipped.length).toBeGreaterThan(0);
    expect(
      await rows(`select merchant_id, net_takings_fen from onecard_analytics.mart_merchant_daily_takings`),
    ).toEqual([{ merchant_id: 'M1', net_takings_fen: 800 }]);
  }, 120_000);

  test('dbt docs generate writes the catalog of every model', async () => {
    const docs = await runDbt('docs generate', { clickhouseUrl: url, targetPath: target('docs') });
    expect(docs.errors).toEqual([]);
    expect(docs.success).toBe(true);
    const catalog = JSON.parse(fs.readFileSync(path.join(target('docs'), 'catalog.json'), 'utf8'));
    expect(Object.keys(catalog.nodes)).toContain('model.onecard_warehouse.mart_attendance_daily_class');
  }, 120_000);

  test("the analysts' guide Python session runs as the read-only user", async () => {
    const { dbtBin } = await ensureDbtVenv();
    const run = await execa(
      path.join(path.dirname(dbtBin), 'python'),
      ['warehouse/analysts/example_session.py'],
      {
        cwd: repoRoot,
        env: {
          CLICKHOUSE_HOST: new URL(wh.url).hostname,
          CLICKHOUSE_PORT: new URL(wh.url).port,
          CLICKHOUSE_PASSWORD: wh.analystPassword,
        },
      },
    );
    expect(run.stdout).toContain('M1 2026-03-02 2 8.00');
    const write = await fetch(
      `${new URL(wh.url).origin}/?user=analyst&password=${encodeURIComponent(wh.analystPassword)}`,
      {
        method: 'POST',
        body: 'drop table onecard_analytics.mart_merchant_daily_takings',
      },
    );
    expect(write.status).not.toBe(200);
  }, 60_000);
});
