/**
 * The warehouse process: owns the on-disk chDB data folder and serves the ClickHouse HTTP interface on it.
 *
 *   WAREHOUSE_SYSTEM_PASSWORD=... npx tsx warehouse/server/main.ts
 *
 * Environment: WAREHOUSE_DATA_DIR (default var/warehouse), WAREHOUSE_HOST (127.0.0.1), WAREHOUSE_PORT (8123;
 * 0 picks a free port), WAREHOUSE_SYSTEM_PASSWORD (required, user "onecard"), WAREHOUSE_ANALYST_PASSWORD
 * (user "analyst", readonly; empty disables it), WAREHOUSE_ALLOW_ANONYMOUS_READONLY (1: user "default"
 * without password, readonly), WAREHOUSE_MAX_BODY_BYTES (default 1 GiB).
 *
 * Started with an IPC channel (by the launcher or a test), it sends `{ type: 'ready', url }` once listening
 * and exits when the channel closes, so it never outlives its parent.
 */
import { createProcessLogger } from '../../core/log.ts';
import { ConfigError, readWarehouseConfig } from './config.ts';
import { PortInUseError, startWarehouseServer } from './server.ts';

const logger = createProcessLogger('warehouse');

async function main(): Promise<void> {
  let config;
  try {
    config = readWarehouseConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      process.stderr.write(`warehouse: ${err.message}\n`);
      process.exitCode = 2; // not process.exit(): let the async log file flush
      return;
    }
    throw err;
  }
  if (config.users.allowAnonymousReadonly && !['127.0.0.1', '::1', 'localhost'].includes(config.host)) {
    logger.warn(
      { host: config.host },
      'WAREHOUSE_ALLOW_ANONYMOUS_READONLY=1 on a non-loopback address: anyone who can reach it can read the warehouse',
    );
  }
  if (!config.users.analystPassword)
    logger.warn('WAREHOUSE_ANALYST_PASSWORD is empty: the read-only "analyst" user is disabled');

  let server;
  try {
    server = await startWarehouseServer({ ...config, logger });
  } catch (err) {
    const msg = err instanceof PortInUseError ? err.message : `cannot start: ${(err as Error).message}`;
    logger.fatal(msg);
    process.stderr.write(`warehouse: ${msg}\n`);
    process.exitCode = 1;
    return;
  }

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'warehouse shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 30 s; exiting anyway');
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await server.close();
    } catch (err) {
      logger.error({ err }, 'error while closing the warehouse');
      process.exitCode = 1;
    }
    logger.flush(() => process.exit());
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (process.send) {
    process.on('disconnect', () => void stop('parent IPC channel closed'));
    process.send({ type: 'ready', url: server.url });
  }
}

main().catch((err) => {
  logger.fatal({ err }, 'warehouse crashed');
  process.stderr.write(`warehouse crashed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
