import type { ClickHouseClient } from '../core/warehouse-client.ts';
import type { Pool } from '../core/db/pool.ts';
import type { BankGateway } from '../core/bank/port.ts';
import type { SmsSender } from '../core/sms/port.ts';
import { createSelfCheckActivities } from './self-check/activities.ts';
import { createBankTopUpActivities } from './bank-top-up/activities.ts';
import { createLostCardActivities } from './lost-card/activities.ts';
import { createBlacklistUpkeepActivities } from './blacklist-upkeep/activities.ts';
import { createCardReplacementActivities } from './card-replacement/activities.ts';
import { createDailySettlementActivities } from './daily-settlement/activities.ts';
import type { ReportsRefresher } from '../warehouse/nightly-refresh.ts';

export interface ActivityDeps {
  db: Pool;
  warehouse: ClickHouseClient;
  /** SMS (core/sms); the outbox in PostgreSQL when not given. */
  sms?: SmsSender;
  /** The bank gateway (core/bank); bank top-ups fail with `bank_not_configured` when not given. */
  bank?: BankGateway;
  /** The nightly refresh of the report models (dbt); skipped, and said so, when not given. */
  reports?: ReportsRefresher;
}

/** Every activity the worker registers, built from real components handed in by the caller. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...createBankTopUpActivities(deps),
    ...createLostCardActivities(deps),
    ...createBlacklistUpkeepActivities(deps),
    ...createCardReplacementActivities(deps),
    ...createDailySettlementActivities(deps),
  };
}
