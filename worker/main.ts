// The Temporal worker process: runs every workflow and activity of the platform.
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadConfig, redactUrl } from '../core/config.ts';
import { createPool } from '../core/db/pool.ts';
import { createProcessLogger } from '../core/log.ts';
import { createWarehouseClient } from '../core/warehouse-client.ts';
import { createReportsRefresher } from '../warehouse/nightly-refresh.ts';
import { bankGatewayFromConfig } from '../core/bank/from-config.ts';
import { smsSenderFromConfig } from '../core/sms/from-config.ts';
import { announceReady, onShutdown } from '../system/lifeline.ts';
import { readTemporalSettings } from '../core/temporal-settings.ts';
import { ensureStandingWorkflows } from './standing-workflows.ts';
import { createWorker, workerIdentity } from './worker.ts';
import { workerPoolMax, workerTuning } from './tuning.ts';

const log = createProcessLogger('worker');

async function main(): Promise<void> {
  const config = loadConfig(['DATABASE_URL', 'TEMPORAL_ADDRESS', 'CLICKHOUSE_URL']);
  Runtime.install({
    logger: {
      log: (level, message, meta) =>
        log[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')]({ ...meta }, message),
      trace: (message, meta) => log.trace(meta ?? {}, message),
      debug: (message, meta) => log.debug(meta ?? {}, message),
      info: (message, meta) => log.info(meta ?? {}, message),
      warn: (message, meta) => log.warn(meta ?? {}, message),
      error: (message, meta) => log.error(meta ?? {}, message),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const db = createPool(config.DATABASE_URL, {
    application: 'onecard-worker',
    max: workerPoolMax(workerTuning()),
  });
  const warehouse = createWarehouseClient(config.CLICKHOUSE_URL, { application: 'onecard-worker' });
  const { worker, connection } = await createWorker({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps: {
      db,
      warehouse,
      sms: smsSenderFromConfig(db, config),
      bank: bankGatewayFromConfig(config),
      reports: createReportsRefresher({ db, warehouse, clickhouseUrl: config.CLICKHOUSE_URL }),
    },
    log,
  });
  const running = worker.run();
  const closeAll = async () => {
    await running.catch((error: unknown) => log.error({ err: error }, 'worker stopped with an error'));
    await Promise.all([connection.close(), db.end(), warehouse.close()]);
  };
  onShutdown(async (reason) => {
    log.info({ reason }, 'stopping the worker: finishing the tasks in hand');
    worker.shutdown();
    await closeAll();
    log.info('worker stopped');
  });
  log.info(
    {
      identity: workerIdentity(),
      temporal: config.TEMPORAL_ADDRESS,
      warehouse: redactUrl(config.CLICKHOUSE_URL),
    },
    'worker polling',
  );
  const settings = readTemporalSettings();
  await ensureStandingWorkflows({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE ?? settings.namespace,
    taskQueue: config.TEMPORAL_TASK_QUEUE ?? settings.taskQueue,
    log,
  });
  announceReady({ identity: workerIdentity() });
  await running;
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, `worker failed: ${(error as Error).message}`);
  process.exit(1);
});
