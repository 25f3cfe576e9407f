import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAdminBuilt } from '../../admin/build.ts';
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

describe('admin console', { timeout: 60_000 }, () => {
  let stack: { apiUrl: string; stop(): Promise<void> };
  let browser: Browser;
  let page: Page;
  let report: HealthReport;

  beforeAll(async () => {
    await ensureAdminBuilt({ onProgress: (line) => console.log(line) });
    stack = await startConsoleStack();
    browser = await launchBrowser();
    page = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
    report = await healthOnceUp(stack.apiUrl);
    await mkdir(screenshotDir, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
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
});
