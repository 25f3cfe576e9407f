import { randomBytes } from 'node:crypto';
import { createPool } from '../../core/db/pool.ts';
import { migrate } from '../../core/db/migrate.ts';
import { stackConfig } from './env.ts';

/**
 * A migrated PostgreSQL database of a suite's own on the run's shared server, for suites whose writes the
 * others must not see (a blacklist filled to capacity, events aged and deleted). `drop` after the suite's
 * own pools have ended.
 */
export async function createOwnDatabase(name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const database = `${name}_${randomBytes(4).toString('hex')}`;
  const server = stackConfig().DATABASE_URL;
  const admin = createPool(server, { max: 1 });
  await admin.query(`create database ${database}`);
  const url = new URL(server);
  url.pathname = `/${database}`;
  await migrate(url.toString(), { info: () => undefined });
  return {
    url: url.toString(),
    async drop() {
      // Without force: the suite's pools may still be closing their sockets, and a forced drop would break them.
      for (let attempt = 1; attempt <= 50; attempt++) {
        const dropped = await admin.query(`drop database if exists ${database}`).then(
          () => true,
          () => false,
        );
        if (dropped) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await admin.end();
    },
  };
}
