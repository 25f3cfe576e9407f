import { Context } from '@temporalio/activity';
import type { Pool } from '../../core/db/pool.ts';
import { alertSilentTerminals } from '../../core/blacklist/distribution.ts';
import { pruneBlacklist } from '../../core/blacklist/entries.ts';
import type { BlacklistUpkeepActivities } from './types.ts';

export interface BlacklistUpkeepDeps {
  db: Pool;
}

export function createBlacklistUpkeepActivities(deps: BlacklistUpkeepDeps): BlacklistUpkeepActivities {
  const { db } = deps;
  return {
    async pruneBlacklistEntries({ offlineWindowMs }) {
      return pruneBlacklist(db, { offlineWindowMs, now: new Date() });
    },

    async alertOnSilentTerminals({ confirmWithinMs, terminalIdPrefix }) {
      const silent = await alertSilentTerminals(db, { confirmWithinMs, terminalIdPrefix, now: new Date() });
      // The alert operators see: one warning per terminal, once, in the worker's log.
      for (const terminal of silent)
        Context.current().log.warn('terminal has not confirmed the blacklist', { ...terminal });
      return silent;
    },
  };
}
