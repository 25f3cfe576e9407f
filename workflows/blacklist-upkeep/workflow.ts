import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type {
  BlacklistUpkeepActivities,
  BlacklistUpkeepInput,
  SilentTerminal,
} from '../../activities/blacklist-upkeep/types.ts';

const db = proxyActivities<BlacklistUpkeepActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/** Rounds per run before the history is started afresh (a limit on the loop and on the history). */
export const roundsPerRunMax = 100;

export interface BlacklistUpkeepResult {
  rounds: number;
  pruned: number;
  alerted: SilentTerminal[];
}

/**
 * The blacklist's periodic work: prunes entries that can no longer matter and alerts on terminals that
 * do not confirm, then sleeps on a timer. A failed round is retried by its activities and, past that,
 * waits for the next round instead of ending the process.
 */
export async function blacklistUpkeep(input: BlacklistUpkeepInput): Promise<BlacklistUpkeepResult> {
  const result: BlacklistUpkeepResult = { rounds: 0, pruned: 0, alerted: [] };
  const rounds = Math.min(input.rounds ?? roundsPerRunMax, roundsPerRunMax);
  for (let round = 1; round <= rounds; round++) {
    const pruned = await db.pruneBlacklistEntries({ offlineWindowMs: input.offlineWindowMs });
    result.pruned += pruned.pruned;
    const silent = await db.alertOnSilentTerminals({
      confirmWithinMs: input.confirmWithinMs,
      terminalIdPrefix: input.terminalIdPrefix,
    });
    result.alerted.push(...silent);
    result.rounds = round;
    if (round < rounds) await sleep(input.intervalMs);
  }
  if (input.rounds === undefined) {
    await sleep(input.intervalMs);
    await continueAsNew<typeof blacklistUpkeep>(input);
  }
  return result;
}
