import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@clickhouse/client';
import { ensureAdminBuilt } from '../../admin/build.ts';
import { buildMarts } from '../../warehouse/dbt/build-marts.ts';
import { applyWarehouseSchema } from '../../warehouse/schema/apply.ts';
import { startWarehouse, type StartedWarehouse } from '../warehouse/start-warehouse.ts';
import { launchBrowser } from '../support/browser.ts';
import { startConsoleStack } from './console-stack.ts';

const repoDir = fileURLToPath(new URL('../..', import.meta.url));
const screenshotDir = path.join(repoDir, 'var', 'screenshots');

interface HealthReport {
  status: string;
  components: { name: string; status: string; version?: string }[];
  links: { temporalWebUi: string | null };
}

const zhNames: Record<string, string> = {
  postgres: '账务数据库 (PostgreSQL)',
  temporal: '流程引擎 (Temporal)',
  warehouse: '数据中心 (ClickHouse)',
  worker: '流程执行器 (Worker)',
};
const zhStates: Record<string, string> = { up: '正常', down: '故障', degraded: '部分故障' };
const enStates: Record<string, string> = { up: 'Up', down: 'Down', degraded: 'Degraded' };

/**
 * GET /health until every component is up: the oracle for versions and links, and proof the stack is
 * ready. The first checks can miss their 2 s deadline while the machine is busy starting everything.
 */
async function healthOnceUp(apiUrl: string, waitMsMax = 60_000): Promise<HealthReport> {
  const deadline = Date.now() + waitMsMax;
  for (;;) {
    const report = (await (await fetch(`${apiUrl}/health`)).json()) as HealthReport;
    if (report.status === 'up') return report;
    if (Date.now() > deadline) {
      throw new Error(`/health still not up after ${waitMsMax} ms: ${JSON.stringify(report.components)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** A school day in a warehouse of the suite's own: one class, two students, one of them late, marts built. */
const reportDay = '2026-11-30';
async function startReportWarehouse(): Promise<{ wh: StartedWarehouse; url: string }> {
  const wh = await startWarehouse({ systemPassword: `console-${Date.now()}` });
  const client = createClient({ url: wh.url, username: 'onecard', password: wh.systemPassword });
  try {
    await applyWarehouseSchema(client);
    const student = (id: number) => ({
      event_id: id,
      entity: 'cardholders',
      entity_key: String(id),
      changed_at: `${reportDay} 00:00:00.000`,
      row: JSON.stringify({
        cardholder_id: id,
        school_id: 'E2E-S1',
        kind: 'student',
        person_no: `P${id}`,
        name: `学生${id}`,
        gender: 'U',
        grade: 7,
        class_name: '7-1',
      }),
    });
    await client.insert({
      table: 'onecard.dimension_changes',
      values: [student(1), student(2)],
      format: 'JSONEachRow',
    });
    const gateIn = (id: number, utc: string) => ({
      event_id: 100 + id,
      school_id: 'E2E-S1',
      swipe_date: reportDay,
      kind: 'gate_in',
      terminal_id: 'E2E-S1-GATE',
      terminal_seq: id,
      card_no: `C${id}`,
      cardholder_id: id,
      swiped_at: utc,
      received_at: utc,
    });
    // 07:20 and 08:40 on the day, local time (UTC+8).
    await client.insert({
      table: 'onecard.swipes',
      values: [gateIn(1, '2026-11-29 23:20:00.000'), gateIn(2, '2026-11-30 00:40:00.000')],
      format: 'JSONEachRow',
    });
  } finally {
    await client.close();
  }
  const url = new URL(wh.url).origin.replace(
    'http://',
    `http://onecard:${encodeURIComponent(wh.systemPassword)}@`,
  );
  const build = await buildMarts({
    clickhouseUrl: url,
    targetPath: path.join(screenshotDir, '..', 'dbt-console'),
  });
  if (!build.success)
    throw new Error(`dbt build for the console suite failed: ${JSON.stringify(build.errors)}`);
  return { wh, url };
}

describe('admin console', { timeout: 60_000 }, () => {
  let stack: { apiUrl: string; stop(): Promise<void> };
  let reportWarehouse: StartedWarehouse;
  let browser: Browser;
  let page: Page;
  let report: HealthReport;

  beforeAll(async () => {
    await ensureAdminBuilt({ onProgress: (line) => console.log(line) });
    const reports = await startReportWarehouse();
    reportWarehouse = reports.wh;
    stack = await startConsoleStack({ CLICKHOUSE_URL: reports.url });
    browser = await launchBrowser();
    page = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
    report = await healthOnceUp(stack.apiUrl);
    await mkdir(screenshotDir, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await reportWarehouse?.stop();
  });

  it('shows every component of /health with its status, in Chinese', async () => {
    await page.goto(`${stack.apiUrl}/admin/`);
    await page.getByTestId('health-overall').waitFor();
    expect(await page.locator('#react-admin-title').textContent()).toBe('系统状态');

    // The real stack with a worker on the task queue this API watches: every component is up.
    expect(report.components.map((c) => c.name)).toEqual(['postgres', 'temporal', 'warehouse', 'worker']);
    for (const component of report.components) {
      const row = page.getByTestId(`component-${component.name}`);
      expect(await row.getByTestId(`component-${component.name}-name`).textContent()).toBe(
        zhNames[component.name],
      );
      // A check may miss its deadline on a busy machine; the page's next refresh must then show it up.
      const status = row.getByTestId(`component-${component.name}-status`);
      await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('up');
      expect(await status.textContent()).toBe(zhStates.up);
      expect(await row.getByTestId(`component-${component.name}-version`).textContent()).toBe(
        component.version,
      );
    }
    expect(await page.getByTestId('health-overall').textContent()).toBe(zhStates.up);
    await page.screenshot({ path: path.join(screenshotDir, 'console-status-zh.png'), fullPage: true });
  });

  it('refreshes the status by itself', async () => {
    const checkedAt = page.getByTestId('health-checked-at');
    const first = await checkedAt.textContent();
    await expect.poll(() => checkedAt.textContent(), { timeout: 12_000, interval: 500 }).not.toBe(first);
  });

  it('switches to English', async () => {
    await page.getByRole('button', { name: '简体中文' }).click();
    await page.getByRole('menuitem', { name: 'English' }).click();
    await expect.poll(() => page.locator('#react-admin-title').textContent()).toBe('System status');
    expect(await page.getByTestId('component-postgres-name').textContent()).toBe(
      'Ledger database (PostgreSQL)',
    );
    const first = report.components[0]!;
    expect(await page.getByTestId(`component-${first.name}-status`).textContent()).toBe(
      enStates[first.status],
    );
    await page.screenshot({ path: path.join(screenshotDir, 'console-status-en.png'), fullPage: true });
  });

  it('links to the Temporal Web UI', async () => {
    const href = report.links.temporalWebUi;
    expect(href, 'the API should know the Temporal Web UI address').toBeTruthy();
    const link = page.getByRole('link', { name: 'Temporal Web UI' });
    expect(await link.getAttribute('href')).toBe(href);
    expect(await link.getAttribute('target')).toBe('_blank');

    const [popup] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await popup.waitForLoadState('domcontentloaded');
    expect(popup.url().startsWith(href!)).toBe(true);
    await popup.close();
  });

  it('says clearly when /health cannot be fetched', async () => {
    await page.route('**/health', (route) => route.fulfill({ status: 502, body: 'Bad Gateway' }));
    await page.reload();
    const error = page.getByTestId('health-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('HTTP 502');
    await page.screenshot({ path: path.join(screenshotDir, 'console-status-error.png'), fullPage: true });
    await page.unroute('**/health');
  });

  it('lists the processes, each opening its own history in the Temporal Web UI', async () => {
    const checkId = `console-${Date.now()}`;
    const ran = await fetch(`${stack.apiUrl}/api/self-checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ checkId }),
    });
    expect(ran.status).toBe(200);
    const workflowId = `self-check/${checkId}`;
    const filter = encodeURIComponent(JSON.stringify({ businessKey: workflowId }));
    await page.goto(`${stack.apiUrl}/admin/#/processes?filter=${filter}`);
    const link = page.getByTestId(`process-history-${workflowId}`);
    await link.waitFor({ timeout: 20_000 });
    // The earlier case left the console in English.
    expect(await page.getByTestId(`process-status-${workflowId}`).textContent()).toBe('Completed');
    const href = await link.getAttribute('href');
    const ui = report.links.temporalWebUi!.replace(/\/workflows$/, '');
    expect(href!.startsWith(`${ui}/workflows/${encodeURIComponent(workflowId)}/`), href!).toBe(true);
    expect(href).toMatch(/\/[0-9a-f-]{36}\/history$/);
    await page.screenshot({ path: path.join(screenshotDir, 'console-processes-en.png'), fullPage: true });
    const [popup] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await popup.waitForLoadState('domcontentloaded');
    expect(popup.url()).toBe(href);
    await popup.close();
  });

  it('runs a report from its form, names a bad parameter, and exports what it showed', async () => {
    const catalog = (await (await fetch(`${stack.apiUrl}/api/reports`)).json()) as Array<{ name: string }>;
    await page.goto(`${stack.apiUrl}/admin/#/reports`);
    await page.getByTestId('reports-page').waitFor();
    // The earlier cases left the console in English.
    expect(await page.locator('#react-admin-title').textContent()).toBe('Reports');
    await page.getByRole('combobox', { name: 'Report' }).click();
    for (const { name } of catalog) await page.getByTestId(`report-option-${name}`).waitFor();
    await page.getByTestId('report-option-attendance-class').click();
    expect(await page.getByTestId('report-param-date').getAttribute('type')).toBe('date');

    // Bad input: the API's own message, naming the field; nothing to export.
    await page.getByTestId('report-param-schoolId').fill('not a school');
    await page.getByTestId('report-param-date').fill('2026-11-30');
    await page.getByTestId('report-run').click();
    const error = page.getByTestId('report-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('querystring/schoolId');
    expect(await page.getByTestId('report-export-csv').count()).toBe(0);

    // A good query: the rows the API answers, in a table, and the same query as CSV and XLSX.
    await page.getByTestId('report-param-schoolId').fill('E2E-S1');
    await page.getByTestId('report-param-date').fill(reportDay);
    const query = `schoolId=E2E-S1&date=${reportDay}`;
    const oracle = await fetch(`${stack.apiUrl}/api/reports/attendance-class?${query}`);
    expect(oracle.status).toBe(200);
    const { rows } = (await oracle.json()) as { rows: Array<Record<string, unknown>> };
    expect(rows).toEqual([expect.objectContaining({ class_name: '7-1', grade: 7 })]);
    await page.getByTestId('report-run').click();
    await page.getByTestId('report-table').waitFor();
    expect(await page.getByTestId('report-count').textContent()).toBe('1 row');
    const cells = await page.getByTestId('report-row').locator('td').allTextContents();
    expect(cells).toEqual(Object.values(rows[0]!).map((v) => (v === null ? '' : String(v))));
    const csv = page.getByTestId('report-export-csv');
    expect(await csv.getAttribute('href')).toBe(`/api/reports/attendance-class?${query}&format=csv`);
    const file = await fetch(`${stack.apiUrl}${await csv.getAttribute('href')}`);
    expect(file.headers.get('content-type')).toContain('text/csv');
    expect(await file.text()).toContain('7-1');
    expect(await page.getByTestId('report-export-xlsx').getAttribute('href')).toBe(
      `/api/reports/attendance-class?${query}&format=xlsx`,
    );
    await page.screenshot({ path: path.join(screenshotDir, 'console-reports-en.png'), fullPage: true });
  });
});
