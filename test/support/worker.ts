import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { createWarehouseClient, type ClickHouseClient } from '../../core/warehouse-client.ts';
import { readTemporalSettings } from '../../core/temporal-settings.ts';
import { createWorker } from '../../worker/worker.ts';
import type { ActivityDeps } from '../../activities/index.ts';
import { stackConfig } from './env.ts';

export interface RunningWorker {
  worker: Worker;
  client: Client;
  db: Pool;
  warehouse: ClickHouseClient;
  taskQueue: string;
  stop(): Promise<void>;
}

/** A test worker's activities share a pool of 5 connections: three activities and two local ones at once. */
export const smallPoolTuning = { activitySlots: 3, activityPollsMax: 3, localActivitySlots: 2 } as const;

/** A real worker on the shared Temporal dev server, with a task queue of its own so suites do not collide. */
export async function startTestWorker(
  taskQueue: string,
  extraDeps: Omit<Partial<ActivityDeps>, 'db' | 'warehouse'> = {},
): Promise<RunningWorker> {
  const config = stackConfig();
  const db = createPool(config.DATABASE_URL, { max: 5 });
  const warehouse = createWarehouseClient(config.CLICKHOUSE_URL);
  const { worker, connection } = await createWorker({
    address: config.TEMPORAL_ADDRESS,
    taskQueue,
    deps: { db, warehouse, ...extraDeps },
    log: pino({ level: 'warn' }),
    tuning: smallPoolTuning,
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: readTemporalSettings().namespace });
  return {
    worker,
    client,
    db,
    warehouse,
    taskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await Promise.all([connection.close(), clientConnection.close(), db.end(), warehouse.close()]);
    },
  };
}
