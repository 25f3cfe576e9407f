import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient } from '@clickhouse/client';
import { applyWarehouseSchema } from '../../warehouse/schema/apply.ts';
import { forkWarehouse, startWarehouse, type StartedWarehouse } from './start-warehouse.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onecard-wh-life-')) + '/data';
const running: StartedWarehouse[] = [];
afterAll(async () => {
  for (const w of running) await w.stop();
});

const exitOf = (child: ReturnType<typeof forkWarehouse>['child']) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('warehouse process lifecycle', () => {
  it('keeps data across a restart, and applies the schema idempotently', async () => {
    const first = await startWarehouse({ dataDir, systemPassword: 's1' });
    running.push(first);
    const c1 = createClient({ url: first.url, username: 'onecard', password: 's1' });
    expect((await applyWarehouseSchema(c1)).applied).toBeGreaterThanOrEqual(2);
    await applyWarehouseSchema(c1);
    await c1.insert({
      table: 'onecard.self_checks',
      values: [
        { check_id: 'c-1', started_at: '2026-09-01 07:00:00.123', component: 'warehouse', detail: 'ok' },
      ],
      format: 'JSONEachRow',
    });
    await c1.close();
    expect(await first.stop()).toBe(0);

    const second = await startWarehouse({ dataDir, systemPassword: 's2' });
    running.push(second);
    const c2 = createClient({ url: second.url, username: 'onecard', password: 's2' });
    const rs = await c2.query({
      query: 'SELECT check_id, started_at, component FROM onecard.self_checks',
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { check_id: 'c-1', started_at: '2026-09-01 07:00:00.123', component: 'warehouse' },
    ]);
    await c2.close();

    // A second process on the same port says which port and which variable to change.
    const clash = forkWarehouse({
      ONECARD_VAR_DIR: path.join(path.dirname(dataDir), 'var2'),
      WAREHOUSE_DATA_DIR: path.join(path.dirname(dataDir), 'data2'),
      WAREHOUSE_PORT: new URL(second.url).port,
      WAREHOUSE_SYSTEM_PASSWORD: 'x',
    });
    expect(await exitOf(clash.child)).toBe(1);
    expect(clash.output()).toContain(`port ${new URL(second.url).port}`);
    expect(clash.output()).toContain('WAREHOUSE_PORT');
    expect(await second.stop()).toBe(0);
  });

  it('names the bad variable when the environment is invalid', async () => {
    const bad = forkWarehouse({
      ONECARD_VAR_DIR: path.join(path.dirname(dataDir), 'var3'),
      WAREHOUSE_PORT: 'eighty',
      WAREHOUSE_SYSTEM_PASSWORD: '',
    });
    expect(await exitOf(bad.child)).toBe(2);
    expect(bad.output()).toContain('WAREHOUSE_PORT');
    expect(bad.output()).toContain('WAREHOUSE_SYSTEM_PASSWORD');
  });

  it('exits when its parent IPC channel closes', async () => {
    const w = await startWarehouse({ dataDir: path.join(path.dirname(dataDir), 'data4') });
    const exited = exitOf(w.child as never);
    w.child.disconnect();
    expect(await exited).toBe(0);
  });
});
