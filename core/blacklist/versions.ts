import type pg from 'pg';
import type { Pool } from '../db/pool.ts';

/** The POS limit in the requirement: a terminal holds at most this many blacklisted cards. */
export const blacklistCapacityMax = 300_000;

export type Db = Pick<Pool, 'connect' | 'query'>;

/**
 * Runs one blacklist change in a transaction that holds the blacklist's write lock, so versions commit in
 * the order they were taken and a terminal that read version n can never miss a change numbered below n.
 */
export async function inBlacklistWrite<T>(db: Db, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('begin');
    await client.query(`select pg_advisory_xact_lock(hashtext('blacklist_write'))`);
    const answer = await run(client);
    await client.query('commit');
    return answer;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function nextVersion(client: pg.PoolClient): Promise<number> {
  const { rows } = await client.query<{ v: string }>(`select nextval('blacklist_version_seq')::text as v`);
  return Number(rows[0]!.v);
}

/** The newest committed version: the highest number any entry was added or removed under. */
export async function currentVersion(db: Pick<Pool, 'query'>): Promise<number> {
  const { rows } = await db.query<{ v: string }>(
    `select greatest(coalesce((select max(added_version) from blacklist_entries), 0),
                     coalesce((select max(removed_version) from blacklist_entries), 0))::text as v`,
  );
  return Number(rows[0]!.v);
}
