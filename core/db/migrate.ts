import path from 'node:path';
import { runner } from 'node-pg-migrate';
import { repoRoot } from '../paths.ts';
import type { Logger } from '../log.ts';

export const migrationsDir = path.join(repoRoot, 'core', 'db', 'migrations');

/**
 * Brings the schema up to date. node-pg-migrate takes an advisory lock, so two processes migrating at
 * once is safe; migrations already applied are skipped.
 */
export async function migrate(databaseUrl: string, log: Pick<Logger, 'info'>): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'schema_migrations',
    checkOrder: true,
    singleTransaction: true,
    log: (message: string) => log.info(`migrate: ${message}`),
    verbose: false,
  });
  return applied.map((migration) => migration.name);
}
