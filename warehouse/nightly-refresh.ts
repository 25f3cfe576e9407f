import path from 'node:path';
import type { Pool } from '../core/db/pool.ts';
import type { ClickHouseClient } from '../core/warehouse-client.ts';
import { varPath } from '../core/paths.ts';
import { businessDate as businessDateOf } from '../core/ledger/calendar.ts';
import { loadLedgerDailyTotals, replayDay } from './relay/relay.ts';
import { buildMarts } from './dbt/build-marts.ts';

/** What the nightly refresh of the report models did, small enough to keep in a workflow's history. */
export interface ReportsRefresh {
  businessDate: string;
  replayedEvents: number;
  ledgerTotalsKinds: number;
  success: boolean;
  elapsedS: number;
  models: number;
  tests: number;
  failedModels: Array<{ model: string; message: string }>;
  failedTests: Array<{ test: string; failures: number | null }>;
  errors: string[];
}

export interface ReportsRefresher {
  refresh(businessDate: string, onProgress?: (line: string) => void): Promise<ReportsRefresh>;
}

const messageMax = 500;

/**
 * The data centre's nightly step: the day's events replayed into the warehouse (copies collapse by event
 * id, so nothing the relay already sent is doubled), the ledger's totals of the day loaded for the money
 * check once the day is over, then `dbt build`. A failed model leaves yesterday's mart in place; the answer
 * says which and why.
 * One build at a time per database (an advisory lock), since two builds would swap the same tables.
 */
export function createReportsRefresher(deps: {
  db: Pool;
  warehouse: ClickHouseClient;
  clickhouseUrl: string;
  schema?: string;
  targetPath?: string;
}): ReportsRefresher {
  return {
    async refresh(businessDate, onProgress) {
      const lock = await deps.db.connect();
      // The lock's connection is held for the whole build; if PostgreSQL ends it meanwhile (a restart, a
      // stop), the build's next query fails and says so; without a listener Node would end the process.
      const dropped = () => undefined;
      lock.on('error', dropped);
      try {
        await lock.query(`select pg_advisory_lock(hashtext('onecard:dbt-build'))`);
        const replayed = await replayDay(deps.db, deps.warehouse, businessDate);
        // The money check covers days that are over. An open day's totals (the launcher's first build refreshes
        // today) would race with the purchases still being made and relayed, and fail the build for nothing.
        const over = businessDate < businessDateOf(new Date());
        const kinds = over ? await loadLedgerDailyTotals(deps.db, deps.warehouse, businessDate) : 0;
        const build = await buildMarts({
          clickhouseUrl: deps.clickhouseUrl,
          schema: deps.schema,
          targetPath: deps.targetPath ?? path.join(varPath('dbt'), 'target-nightly'),
          onProgress,
        });
        return {
          businessDate,
          replayedEvents: replayed.replayed,
          ledgerTotalsKinds: kinds,
          success: build.success,
          elapsedS: build.elapsedS,
          models: build.models,
          tests: build.tests,
          failedModels: build.failedModels.map((m) => ({ ...m, message: m.message.slice(0, messageMax) })),
          failedTests: build.failedTests.map((t) => ({ test: t.test, failures: t.failures })),
          errors: build.errors.map((e) => e.slice(0, messageMax)),
        };
      } finally {
        await lock.query(`select pg_advisory_unlock(hashtext('onecard:dbt-build'))`).catch(() => undefined);
        lock.off('error', dropped);
        lock.release();
      }
    },
  };
}
