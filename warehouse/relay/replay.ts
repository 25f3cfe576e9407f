// Rebuilds one day in the warehouse from the PostgreSQL outbox, then loads the ledger's totals for it:
//   DATABASE_URL=... CLICKHOUSE_URL=... node --import tsx warehouse/relay/replay.ts 2026-11-29
// Safe to run at any time and more than once: copies already in the warehouse collapse by event id.
import { loadConfig } from '../../core/config.ts';
import { createPool } from '../../core/db/pool.ts';
import { createWarehouseClient } from '../../core/warehouse-client.ts';
import { loadLedgerDailyTotals, replayDay } from './relay.ts';

const day = process.argv[2] ?? '';
const config = loadConfig(['DATABASE_URL', 'CLICKHOUSE_URL']);
const db = createPool(config.DATABASE_URL, { application: 'onecard-replay', max: 2 });
const warehouse = createWarehouseClient(config.CLICKHOUSE_URL, { application: 'onecard-replay' });
try {
  const result = await replayDay(db, warehouse, day);
  const kinds = await loadLedgerDailyTotals(db, warehouse, day);
  process.stdout.write(`${JSON.stringify({ day, ...result, ledgerTotalsKinds: kinds })}\n`);
} catch (error) {
  process.stderr.write(`replay failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await Promise.all([db.end(), warehouse.close()]);
}
