import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAdminBuilt } from '../../admin/build.ts';
import { launchBrowser } from '../support/browser.ts';
// STAND-IN: until test/support/stack.ts exists this test runs against a static server with a fixed /health.
// To run against the real stack, replace this import with `import { startTestStack } from '../support/stack.ts';`
// and `startStaticStack(distDir)` below with `startTestStack()`.
import { startStaticStack } from './static-stack.ts';

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

describe('admin console', { timeout: 60_000 }, () => {
  let stack: { apiUrl: string; stop(): Promise<void> };
  let browser: Browser;
  let page: Page;
  let report: HealthReport;

  beforeAll(async () => {
    const { distDir } = await ensureAdminBuilt({ onProgress: (line) => console.log(line) });
    stack = await startStaticStack(distDir);
    browser = await launchBrowser();
    page = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } });
    // The oracle: what the API itself says. The page must show exactly this.
    report = (await (await fetch(`${stack.apiUrl}/health`)).json()) as HealthReport;
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

    expect(report.components.map((c) => c.name)).toEqual(
      expect.arrayContaining(['postgres', 'temporal', 'warehouse', 'worker']),
    );
    for (const component of report.components) {
      const row = page.getByTestId(`component-${component.name}`);
      expect(await row.getByTestId(`component-${component.name}-name`).textContent()).toBe(
        zhNames[component.name],
      );
      const status = row.getByTestId(`component-${component.name}-status`);
      expect(await status.getAttribute('data-status')).toBe(component.status);
      expect(await status.textContent()).toBe(zhStates[component.status]);
      if (component.version) {
        expect(await row.getByTestId(`component-${component.name}-version`).textContent()).toBe(
          component.version,
        );
      }
    }
    expect(await page.getByTestId('health-overall').textContent()).toBe(zhStates[report.status]);
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
});
