import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { repoRoot } from '../../core/paths.ts';
import {
  isAlive,
  launcherPorts,
  runLauncher,
  type LauncherPorts,
  type RunningLauncher,
} from '../support/launcher.ts';

// What `npm start` promises a newcomer, checked on a data folder of the test's own and free ports.
const varDir = path.join(repoRoot, 'var', 'test', `launcher-${process.pid}`);
let ports: LauncherPorts;
let running: RunningLauncher | undefined;

afterAll(async () => {
  if (running && running.process.exitCode === null) {
    running.process.kill('SIGINT');
    await running.exited;
  }
  fs.rmSync(varDir, { recursive: true, force: true });
});

async function countRows(table: 'cardholders' | 'system_self_checks'): Promise<number> {
  const secrets = JSON.parse(fs.readFileSync(path.join(varDir, 'secrets.json'), 'utf8'));
  const client = new pg.Client({
    host: '127.0.0.1',
    port: Number(ports.PG_PORT),
    user: 'postgres',
    password: secrets.postgresPassword,
    database: 'onecard',
  });
  await client.connect();
  const { rows } = await client.query(`select count(*)::int as n from ${table}`);
  await client.end();
  return rows[0].n;
}

describe('npm start', { timeout: 240_000 }, () => {
  test('brings every component up, seeds the demo district and runs the self-check', async () => {
    fs.rmSync(varDir, { recursive: true, force: true });
    ports = await launcherPorts();
    running = runLauncher(varDir, ports);
    const ready = await running.ready;
    const health = await (await fetch(`${ready.api}/health`)).json();
    expect(health.status).toBe('up');
    expect(health.components.map((c: { name: string; status: string }) => `${c.name}:${c.status}`)).toEqual([
      'postgres:up',
      'temporal:up',
      'warehouse:up',
      'worker:up',
    ]);
    expect(await countRows('cardholders')).toBe(300);

    // Like a fresh ClickHouse, the embedded warehouse answers an anonymous read on loopback.
    const version = await fetch(`http://127.0.0.1:${ports.WAREHOUSE_PORT}/?query=SELECT+version()`);
    expect(await version.text()).toMatch(/^26\.\d+/);

    // The Temporal Web UI lists the start-up self-check.
    const listed = await fetch(
      `http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/api/v1/namespaces/onecard/workflows?query=${encodeURIComponent('WorkflowType="selfCheck"')}`,
    );
    const executions = (await listed.json()).executions as Array<{ execution: { workflowId: string } }>;
    expect(executions.map((e) => e.execution.workflowId)).toEqual([
      expect.stringMatching(/^self-check\/startup-/),
    ]);

    // The worker starts the district's standing processes once.
    const standing = await fetch(
      `http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/api/v1/namespaces/onecard/workflows?query=${encodeURIComponent('WorkflowType="blacklistUpkeep"')}`,
    );
    const upkeep = (await standing.json()).executions as Array<{ execution: { workflowId: string } }>;
    expect(upkeep.map((e) => e.execution.workflowId)).toEqual(['blacklist-upkeep/district']);

    const consolePage = await fetch(`${ready.api}/admin/`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toContain('<div id="root">');

    for (const name of ['system', 'api', 'worker', 'relay', 'bank', 'warehouse', 'temporal', 'postgres']) {
      expect(fs.existsSync(path.join(varDir, 'log', `${name}.log`)), `${name}.log`).toBe(true);
    }

    // After the banner, the report marts are built once in the background: the demo's opening top-ups
    // (100 yuan on each of a school's 150 cards) appear in the top-up report.
    const day = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const topUps = `${ready.api}/api/reports/top-ups?schoolId=DEMO-SY01&from=${day}&to=${day}`;
    await expect
      .poll(async () => (await fetch(topUps)).status, { timeout: 180_000, interval: 2_000 })
      .toBe(200);
    const { rows } = (await (await fetch(topUps)).json()) as { rows: Array<Record<string, string>> };
    expect(rows).toEqual([
      expect.objectContaining({ top_up_method: 'cash', top_ups: '150', amount_fen: '1500000' }),
    ]);
  });

  test('a second launcher on the same data says so and changes nothing', async () => {
    const second = runLauncher(varDir, ports);
    expect(await second.exited).toBe(1);
    expect(second.output.join('')).toContain('already running');
    const health = await fetch(`http://127.0.0.1:${ports.API_PORT}/health`);
    expect(health.status).toBe(200);
  });

  test('Ctrl-C stops every process it started', async () => {
    const { pids } = await running!.ready;
    expect(Object.keys(pids).sort()).toEqual([
      'api',
      'bank',
      'postgres',
      'relay',
      'temporal',
      'warehouse',
      'worker',
    ]);
    running!.process.kill('SIGINT');
    expect(await running!.exited).toBe(0);
    for (const [name, pid] of Object.entries(pids)) expect(isAlive(pid), `${name} (pid ${pid})`).toBe(false);
    // Nothing still holds the process groups either (postgres and temporal run as grandchildren).
    for (const pid of Object.values(pids)) expect(() => process.kill(-pid, 0)).toThrow();
    expect(fs.existsSync(path.join(varDir, 'run', 'launcher.json'))).toBe(false);
  });

  test('data survives a restart', async () => {
    running = runLauncher(varDir, ports);
    await running.ready;
    expect(await countRows('cardholders')).toBe(300);
    expect(await countRows('system_self_checks')).toBe(2);
    running.process.kill('SIGINT');
    expect(await running.exited).toBe(0);
  });
});
