import type { ClickHouseClient } from '../core/warehouse-client.ts';
import type { Pool } from '../core/db/pool.ts';
import { createSelfCheckActivities } from './self-check/activities.ts';

export interface ActivityDeps {
  db: Pool;
  warehouse: ClickHouseClient;
}

/** Every activity the worker registers, built from real components handed in by the caller. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
  };
}
