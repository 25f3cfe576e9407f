import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Connection } from '@temporalio/client';
import { readTemporalSettings } from '../core/temporal-settings.ts';
import { migrate } from '../core/db/migrate.ts';
import { createWarehouseClient } from '../core/warehouse-client.ts';
import { applyWarehouseSchema } from '../warehouse/schema/apply.ts';
import { apiNodeFlags, relayNodeFlags } from './node-flags.ts';
import { startChild, pollUntil, type ChildSpec, type LineSink, type ManagedChild } from './child.ts';
import { assertPortFree, freePort } from './ports.ts';
import { loadOrCreateSecrets } from './secrets.ts';
import { ensureTemporalCli } from './temporal-cli.ts';

export interface StackPorts {
  postgres: number;
  temporal: number;
  temporalUi: number;
  warehouse: number;
  api: number;
}

export interface StackOptions {
  varDir: string;
  host: string;
  ports: StackPorts;
  /** Set ones point that part at a production instance instead of starting the embedded one. */
  external: {
    databaseUrl?: string;
    temporalAddress?: string;
    temporalUiUrl?: string;
    clickhouseUrl?: string;
    /** A bank gateway (with BANK_API_KEY and BANK_CALLBACK_SECRET in the environment). */
    bankGatewayUrl?: string;
  };
  /** The worker and API are left out by test suites that run their own in-process. */
  processes: {
    worker: boolean;
    api: boolean;
    /** the outbox relay; defaults to the worker's setting */ relay?: boolean;
  };
  /** Tests keep Temporal's state in memory; npm start keeps it in var/. */
  temporalInMemory?: boolean;
  sink: LineSink;
  onSpawn?: (pid: number) => void;
  progress: (message: string) => void;
}

export interface RunningStack {
  /** The environment every process of the platform needs: the URLs of each component. */
  env: {
    DATABASE_URL: string;
    TEMPORAL_ADDRESS: string;
    TEMPORAL_NAMESPACE: string;
    TEMPORAL_UI_URL: string;
    CLICKHOUSE_URL: string;
    API_HOST: string;
    API_PORT: string;
    /** Where the bank and Twilio send their signed callbacks: signatures cover this URL. */
    PUBLIC_BASE_URL: string;
    /** Set for the embedded bank simulator; an external gateway takes them from the environment. */
    BANK_GATEWAY_URL?: string;
    BANK_API_KEY?: string;
    BANK_CALLBACK_SECRET?: string;
  };
  children: ManagedChild[];
  /** Stops every process this stack started, in the reverse order of starting. */
  stop(): Promise<void>;
}

const entries = {
  postgres: 'system/postgres-main.ts',
  temporal: 'system/temporal-main.ts',
  warehouse: 'warehouse/server/main.ts',
  worker: 'worker/main.ts',
  relay: 'warehouse/relay/main.ts',
  bank: 'drivers/bank-simulator/main.ts',
  api: 'api/main.ts',
} as const;

/**
 * Starts the whole system in dependency order: PostgreSQL, the warehouse and Temporal side by side,
 * then migrations, then the worker and the API. Anything half-started is stopped again on failure.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { varDir, host, ports, external, sink, progress } = options;
  const settings = readTemporalSettings();
  const secrets = loadOrCreateSecrets(varDir);
  const children: ManagedChild[] = [];
  const baseEnv = { ONECARD_VAR_DIR: varDir };
  const start = (spec: Omit<ChildSpec, 'onSpawn'>) => startChild({ ...spec, onSpawn: options.onSpawn }, sink);
  const stop = async () => {
    for (const child of [...children].reverse()) await child.stop();
    children.length = 0;
  };

  const embedded = {
    postgres: !external.databaseUrl,
    temporal: !external.temporalAddress,
    warehouse: !external.clickhouseUrl,
  };
  await Promise.all([
    embedded.postgres && assertPortFree(host, ports.postgres, 'PostgreSQL', 'PG_PORT'),
    embedded.temporal && assertPortFree(host, ports.temporal, 'Temporal', 'TEMPORAL_PORT'),
    embedded.temporal && assertPortFree(host, ports.temporalUi, 'the Temporal Web UI', 'TEMPORAL_UI_PORT'),
    embedded.warehouse && assertPortFree(host, ports.warehouse, 'the warehouse', 'WAREHOUSE_PORT'),
    options.processes.api && assertPortFree(host, ports.api, 'the API', 'API_PORT'),
  ]);

  const env: RunningStack['env'] = {
    DATABASE_URL:
      external.databaseUrl ??
      `postgres://postgres:${encodeURIComponent(secrets.postgresPassword)}@${host}:${ports.postgres}/onecard`,
    TEMPORAL_ADDRESS: external.temporalAddress ?? `${host}:${ports.temporal}`,
    TEMPORAL_NAMESPACE: settings.namespace,
    TEMPORAL_UI_URL:
      external.temporalUiUrl ?? (external.temporalAddress ? '' : `http://${host}:${ports.temporalUi}`),
    CLICKHOUSE_URL:
      external.clickhouseUrl ??
      `http://onecard:${encodeURIComponent(secrets.warehouseSystemPassword)}@${host}:${ports.warehouse}`,
    API_HOST: host,
    API_PORT: String(ports.api),
    PUBLIC_BASE_URL: `http://${host}:${ports.api}`,
  };

  // Each component is recorded as soon as it is up, so a failure elsewhere still stops it; every
  // rejection is observed here and the first one is thrown once all have settled.
  const starting: Array<Promise<unknown>> = [];
  const track = (step: Promise<ManagedChild | void>) => {
    const tracked = step.then((child) => {
      if (child) children.push(child);
    });
    tracked.catch(() => undefined);
    starting.push(tracked);
  };
  try {
    if (embedded.postgres) {
      track(
        startPostgres({
          varDir,
          port: ports.postgres,
          password: secrets.postgresPassword,
          sink,
          onSpawn: options.onSpawn,
        }),
      );
    } else {
      track(checkExternalPostgres(env.DATABASE_URL));
    }
    if (embedded.warehouse) {
      const pingUrl = `http://${host}:${ports.warehouse}/ping`;
      track(
        start({
          name: 'warehouse',
          entry: entries.warehouse,
          env: {
            ...baseEnv,
            WAREHOUSE_DATA_DIR: path.join(varDir, 'warehouse'),
            WAREHOUSE_HOST: host,
            WAREHOUSE_PORT: String(ports.warehouse),
            WAREHOUSE_SYSTEM_PASSWORD: secrets.warehouseSystemPassword,
            WAREHOUSE_ANALYST_PASSWORD: secrets.warehouseAnalystPassword,
            WAREHOUSE_ALLOW_ANONYMOUS_READONLY: host === '127.0.0.1' ? '1' : '0',
          },
          ready: (_child, signal) => pollUntil(async () => assertOk(await fetch(pingUrl)), signal),
          readyTimeoutMs: 60_000,
        }),
      );
    }
    if (!external.bankGatewayUrl) {
      // No bank is reachable from here: a local simulator of the bank's protocol stands in for it.
      track(
        start({
          name: 'bank',
          entry: entries.bank,
          env: {
            ...baseEnv,
            BANK_SIM_HOST: host,
            BANK_SIM_PORT: '0',
            BANK_API_KEY: secrets.bankApiKey,
            BANK_CALLBACK_SECRET: secrets.bankCallbackSecret,
            BANK_SIM_CALLBACK_URL: `${env.PUBLIC_BASE_URL}/api/bank/callbacks`,
          },
          ready: async (child) => {
            const { url } = await child.nextMessage('ready');
            Object.assign(env, {
              BANK_GATEWAY_URL: String(url),
              BANK_API_KEY: secrets.bankApiKey,
              BANK_CALLBACK_SECRET: secrets.bankCallbackSecret,
            });
          },
          readyTimeoutMs: 30_000,
        }),
      );
    }
    if (embedded.temporal) {
      await ensureTemporalCli(progress);
      track(
        start({
          name: 'temporal',
          entry: entries.temporal,
          env: {
            ...baseEnv,
            TEMPORAL_IP: host,
            TEMPORAL_PORT: String(ports.temporal),
            TEMPORAL_UI_PORT: String(ports.temporalUi),
            TEMPORAL_DB_FILE: options.temporalInMemory ? '' : path.join(varDir, 'temporal', 'temporal.db'),
          },
          ready: async (child) => void (await child.nextMessage('ready')),
          readyTimeoutMs: 90_000,
        }),
      );
    } else {
      track(checkExternalTemporal(env.TEMPORAL_ADDRESS));
    }
    const started = await Promise.allSettled(starting);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;

    progress('migrating the PostgreSQL schema and the warehouse tables');
    await migrate(env.DATABASE_URL, { info: (message: string) => sink('system', message) });
    const warehouse = createWarehouseClient(env.CLICKHOUSE_URL, { application: 'onecard-launcher' });
    try {
      await applyWarehouseSchema(warehouse);
    } catch (error) {
      throw new Error(
        `the warehouse at ${new URL(env.CLICKHOUSE_URL).origin} did not take the schema: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      await warehouse.close();
    }

    const platformEnv = { ...baseEnv, ...env };
    if (options.processes.worker) {
      children.push(
        await start({
          name: 'worker',
          entry: entries.worker,
          env: platformEnv,
          ready: async (child) => void (await child.nextMessage('ready')),
          readyTimeoutMs: 120_000,
          stopTimeoutMs: 30_000,
        }),
      );
    }
    if (options.processes.relay ?? options.processes.worker) {
      children.push(
        await start({
          name: 'relay',
          entry: entries.relay,
          nodeFlags: relayNodeFlags,
          env: platformEnv,
          ready: async (child) => void (await child.nextMessage('ready')),
          readyTimeoutMs: 60_000,
          stopTimeoutMs: 30_000,
        }),
      );
    }
    if (options.processes.api) {
      children.push(
        await start({
          name: 'api',
          entry: entries.api,
          nodeFlags: apiNodeFlags,
          env: platformEnv,
          ready: async (child) => void (await child.nextMessage('ready')),
          readyTimeoutMs: 60_000,
        }),
      );
    }
  } catch (error) {
    await Promise.allSettled(starting);
    await stop();
    throw error;
  }
  return { env, children, stop };
}

/**
 * The embedded PostgreSQL alone, in `varDir/postgres` (benchmarks start it without the rest). Resolves
 * with the running child and its DATABASE_URL once it accepts connections.
 */
export async function startPostgres(options: {
  varDir: string;
  port: number;
  password: string;
  sink: LineSink;
  onSpawn?: (pid: number) => void;
}): Promise<ManagedChild & { databaseUrl: string }> {
  const { varDir, port, password } = options;
  fs.mkdirSync(varDir, { recursive: true, mode: 0o755 });
  const child = await startChild(
    {
      name: 'postgres',
      entry: entries.postgres,
      env: {
        ONECARD_VAR_DIR: varDir,
        PG_DATA_DIR: path.join(varDir, 'postgres'),
        PG_PORT: String(port),
        PG_PASSWORD: password,
      },
      ready: async (started) => void (await started.nextMessage('ready')),
      readyTimeoutMs: 60_000,
      onSpawn: options.onSpawn,
    },
    options.sink,
  );
  const databaseUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/onecard`;
  return Object.assign(child, { databaseUrl });
}

/**
 * The whole stack on ports the kernel says are free, for test runs and benchmarks. A free port can be
 * taken by another program before it is bound; then it tries again with new ones.
 */
export async function startStackOnFreePorts(
  options: Pick<StackOptions, 'varDir' | 'processes' | 'temporalInMemory' | 'sink' | 'progress'>,
): Promise<RunningStack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStack({
        ...options,
        host: '127.0.0.1',
        ports: {
          postgres: await freePort(),
          temporal: await freePort(),
          temporalUi: await freePort(),
          warehouse: await freePort(),
          api: await freePort(),
        },
        external: {},
      });
    } catch (error) {
      if (attempt >= 3 || !/in use/.test((error as Error).message)) throw error;
      options.progress(`${(error as Error).message}; trying other ports`);
    }
  }
}

function assertOk(response: Response): void {
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
}

async function checkExternalPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(`DATABASE_URL does not answer: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkExternalTemporal(address: string): Promise<void> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 5_000 });
    await connection.workflowService.getSystemInfo({});
    await connection.close();
  } catch (error) {
    throw new Error(`TEMPORAL_ADDRESS ${address} does not answer: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
