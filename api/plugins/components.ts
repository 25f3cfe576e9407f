// The external components, as named plugins started in a fixed order: database, warehouse, Temporal.
import fp from 'fastify-plugin';
import { Client, Connection } from '@temporalio/client';
import type { PlatformConfig } from '../../core/config.ts';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { createWarehouseClient, type ClickHouseClient } from '../../core/warehouse-client.ts';
import { readTemporalSettings, type TemporalSettings } from '../../core/temporal-settings.ts';

export type ApiConfig = PlatformConfig &
  Required<Pick<PlatformConfig, 'DATABASE_URL' | 'TEMPORAL_ADDRESS' | 'CLICKHOUSE_URL'>>;

declare module 'fastify' {
  interface FastifyInstance {
    config: ApiConfig;
    db: Pool;
    warehouse: ClickHouseClient;
    temporal: {
      client: Client;
      connection: Connection;
      settings: TemporalSettings;
      namespace: string;
      taskQueue: string;
    };
  }
}

export const configPlugin = fp<{ config: ApiConfig }>(
  async (app, { config }) => {
    app.decorate('config', config);
  },
  { name: 'config' },
);

export const databasePlugin = fp(
  async (app) => {
    const db = createPool(app.config.DATABASE_URL, { application: 'onecard-api', max: 30 });
    app.decorate('db', db);
    app.addHook('onClose', async () => db.end());
  },
  { name: 'database', dependencies: ['config'] },
);

export const warehousePlugin = fp(
  async (app) => {
    const warehouse = createWarehouseClient(app.config.CLICKHOUSE_URL, { application: 'onecard-api' });
    app.decorate('warehouse', warehouse);
    app.addHook('onClose', async () => warehouse.close());
  },
  { name: 'warehouse', dependencies: ['config'] },
);

export const temporalPlugin = fp(
  async (app) => {
    const settings = readTemporalSettings();
    const namespace = app.config.TEMPORAL_NAMESPACE ?? settings.namespace;
    // Lazy: the API starts, and /health says so, even while Temporal is still coming up.
    const connection = Connection.lazy({ address: app.config.TEMPORAL_ADDRESS, connectTimeout: 2_000 });
    const taskQueue = app.config.TEMPORAL_TASK_QUEUE ?? settings.taskQueue;
    app.decorate('temporal', {
      client: new Client({ connection, namespace }),
      connection,
      settings,
      namespace,
      taskQueue,
    });
    app.addHook('onClose', async () => connection.close());
  },
  { name: 'temporal', dependencies: ['config'] },
);
