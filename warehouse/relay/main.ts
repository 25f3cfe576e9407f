// The outbox relay process: moves events from the PostgreSQL outbox into the warehouse, batch by batch.
// It is its own process rather than a loop in the Temporal worker: it has a different failure mode (the
// warehouse being away must not slow workflow tasks), it scales differently (one or two loops, not many
// task slots), and a restart of either never disturbs the other. Each loop relays its own partition of
// the outbox (outbox_id modulo loops) from its own cursor; a second relay process is safe (it waits on
// each cursor's lock, then goes on from where the first left it) but adds nothing, and each process then
// drops most of its read-aheads, which the warehouse receives twice. One loop by default: it reads, routes
// and sends its next two windows while the warehouse inserts the current one, which keeps all three busy;
// a second loop (RELAY_LOOPS=2) reads every window twice and moved no more events on two cores.
// The launcher starts it with relayNodeFlags (system/node-flags.ts).
// Retention: every retentionEveryMs it deletes, in bounded batches, the events every consumer has passed
// that are older than OUTBOX_RETENTION_DAYS (default 14; replay can rebuild any day younger than that),
// and the swipes older than SWIPE_RETENTION_DAYS (default 90, at least 30) from PostgreSQL, whose only
// use there is the terminals' duplicate check; the warehouse keeps them.
import { loadConfig, redactUrl } from '../../core/config.ts';
import { createPool } from '../../core/db/pool.ts';
import { createProcessLogger } from '../../core/log.ts';
import { createWarehouseClient } from '../../core/warehouse-client.ts';
import { announceReady, onShutdown } from '../../system/lifeline.ts';
import { pruneSwipes, swipeRetentionLimits } from '../../api/routes/swipes/store.ts';
import { ReadAhead, pruneOutbox, relayLag, relayOnce, retireOtherCursors } from './relay.ts';

const log = createProcessLogger('relay');
const idleMs = 200;
const retryMsMax = 10_000;
const loops = Math.max(1, Math.min(4, Number(process.env.RELAY_LOOPS ?? 1)));
const retentionEveryMs = 10 * 60_000;

function retentionDays(name: string, fallback: number): number {
  const text = process.env[name] ?? String(fallback);
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > 3660)
    throw new Error(`${name} must be a whole number of days from 1 to 3660, got ${JSON.stringify(text)}`);
  return days;
}

async function main(): Promise<void> {
  const config = loadConfig(['DATABASE_URL', 'CLICKHOUSE_URL']);
  const retentionS = retentionDays('OUTBOX_RETENTION_DAYS', 14) * 86_400;
  const swipeRetentionS = retentionDays('SWIPE_RETENTION_DAYS', 90) * 86_400;
  if (swipeRetentionS < swipeRetentionLimits.ageSMin)
    throw new Error(
      `SWIPE_RETENTION_DAYS must be at least ${swipeRetentionLimits.ageSMin / 86_400} days, so the duplicate check covers every record a terminal may still send again`,
    );
  const db = createPool(config.DATABASE_URL, { application: 'onecard-relay', max: 2 * loops + 2 });
  const warehouse = createWarehouseClient(config.CLICKHOUSE_URL, { application: 'onecard-relay' });
  let stopping = false;
  const totals = { relayed: 0, rejected: 0 };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const loop = async (n: number) => {
    let failures = 0;
    const readAhead = new ReadAhead();
    while (!stopping) {
      try {
        const r = await relayOnce(db, warehouse, { partition: { index: n, count: loops }, readAhead });
        failures = 0;
        totals.relayed += r.relayed;
        totals.rejected += r.rejected;
        if (r.rejected > 0)
          log.warn({ rejected: r.rejected }, 'malformed events set aside in outbox_rejects');
        if (r.passed === 0) await sleep(idleMs);
      } catch (error) {
        failures++;
        const waitMs = Math.min(retryMsMax, 250 * 2 ** Math.min(failures, 6));
        log.error(
          { err: error, loop: n, waitMs },
          `relay batch failed; retrying: ${(error as Error).message}`,
        );
        await sleep(waitMs);
      }
    }
  };
  const running = Promise.all(Array.from({ length: loops }, (_, n) => loop(n)));
  const report = setInterval(() => {
    relayLag(db)
      .then((lag) => log.info({ ...lag, ...totals }, 'relay lag'))
      .catch(() => undefined);
  }, 60_000);
  let pruning: Promise<void> | undefined;
  const prune = async () => {
    try {
      const retired = await retireOtherCursors(db, loops);
      if (retired > 0) log.info({ retired }, 'cursors of another RELAY_LOOPS retired');
      const r = await pruneOutbox(db, { ageS: retentionS });
      if (r.deleted > 0) log.info({ ...r, retentionS }, 'published outbox events past retention deleted');
      const swipes = await pruneSwipes(db, { ageS: swipeRetentionS });
      if (swipes.deleted > 0)
        log.info({ ...swipes, swipeRetentionS }, 'swipes past their retention deleted from PostgreSQL');
    } catch (error) {
      log.warn({ err: error }, `outbox retention failed; next try in ${retentionEveryMs / 60_000} min`);
    } finally {
      pruning = undefined;
    }
  };
  const retention = setInterval(() => {
    if (!pruning && !stopping) pruning = prune();
  }, retentionEveryMs);
  onShutdown(async (reason) => {
    log.info({ reason }, 'stopping the relay after the batches in hand');
    stopping = true;
    clearInterval(report);
    clearInterval(retention);
    await running;
    await pruning;
    await Promise.all([db.end(), warehouse.close()]);
  });
  log.info(
    { loops, retentionS, swipeRetentionS, warehouse: redactUrl(config.CLICKHOUSE_URL) },
    'relay running',
  );
  announceReady({ loops });
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, `relay failed: ${(error as Error).message}`);
  process.exit(1);
});
