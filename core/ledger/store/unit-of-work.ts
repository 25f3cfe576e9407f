import type pg from 'pg';
import type { Pool } from '../../db/pool.ts';
import type { LockedAccount } from '../book.ts';
import type { StoredRequest } from '../idempotency.ts';

export type Client = pg.PoolClient;

/** Errors after which the whole unit of work is simply run again: a racing duplicate key, a deadlock. */
const retryableSqlStates = new Set(['23505', '40P01', '40001']);
const attemptsMax = 4;

/**
 * Runs fn in one database transaction and commits; on a race another writer won (the same request key
 * inserted concurrently, a deadlock) it rolls back and runs fn again, up to attemptsMax times. fn must
 * therefore read everything it decides on inside the transaction.
 */
export async function withLedgerTransaction<T>(pool: Pool, fn: (client: Client) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      const code = (error as { code?: string }).code;
      if (attempt >= attemptsMax || !code || !retryableSqlStates.has(code)) throw error;
    } finally {
      client.release();
    }
  }
}

/** What withPipelinedLedgerTransaction hands its unit of work besides the client. */
export interface PipelinedTransaction {
  /** Settles once `begin` has been answered; every statement queued after it runs inside the transaction. */
  begun: Promise<void>;
  /**
   * Sends the last statement (from `send`) and `commit` together. `send` is only called once `begin` has
   * succeeded, so nothing is ever written outside the transaction. If the statement fails, the
   * transaction is aborted and PostgreSQL answers the commit with a rollback: nothing is written.
   */
  commitWith<T>(send: () => Promise<T>): Promise<T>;
}

/**
 * withLedgerTransaction with two round trips fewer on a pipelined pool (pg's `pipeline: true`): `begin`
 * goes on the wire with fn's first statement, and `commit` with its last (`tx.commitWith`). fn must only
 * read and lock before calling commitWith: if `begin` failed, those first statements ran on their own and
 * wrote nothing, and commitWith refuses to send the write. On a pool that is not pipelined the same code
 * waits for each answer in turn (pg deprecates queueing a query behind another there).
 */
export async function withPipelinedLedgerTransaction<T>(
  pool: Pool,
  fn: (client: Client, tx: PipelinedTransaction) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let committed = false;
    try {
      const pipelined = client.pipeline === true;
      const begun = client.query('begin').then(() => undefined);
      begun.catch(() => undefined);
      if (!pipelined) await begun;
      const result = await fn(client, {
        begun,
        async commitWith(send) {
          await begun;
          committed = true;
          if (!pipelined) {
            const value = await send();
            await client.query('commit');
            return value;
          }
          const [value] = await Promise.all([send(), client.query('commit')]);
          return value;
        },
      });
      await begun;
      if (!committed) await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      const code = (error as { code?: string }).code;
      if (attempt >= attemptsMax || !code || !retryableSqlStates.has(code)) throw error;
    } finally {
      client.release();
    }
  }
}

/** Locks accounts in ascending id order (the order every writer uses, so writers never deadlock). */
export async function lockAccounts(client: Client, accountIds: Iterable<bigint>): Promise<LockedAccount[]> {
  const ids = [...new Set([...accountIds].map(String))];
  if (ids.length === 0) return [];
  const { rows } = await client.query<{
    account_id: bigint;
    normal_sign: number;
    balance_fen: bigint;
    floor_fen: bigint | null;
  }>(
    `select account_id, normal_sign, balance_fen, floor_fen from accounts
      where account_id = any($1::bigint[]) order by account_id for update`,
    [ids],
  );
  return rows.map((row) => ({
    accountId: row.account_id,
    normalSign: row.normal_sign === 1 ? 1 : -1,
    balanceFen: row.balance_fen,
    floorFen: row.floor_fen,
  }));
}

export async function findStoredRequests(
  client: Client,
  keys: readonly string[],
): Promise<Map<string, StoredRequest>> {
  if (keys.length === 0) return new Map();
  const { rows } = await client.query<{
    request_key: string;
    fingerprint: string;
    amount_fen: bigint | null;
    outcome: string;
    response: unknown;
  }>(
    `select request_key, fingerprint, amount_fen, outcome, response from ledger_requests where request_key = any($1::text[])`,
    [keys],
  );
  return new Map(
    rows.map((row) => [
      row.request_key,
      {
        requestKey: row.request_key,
        fingerprint: row.fingerprint,
        amountFen: row.amount_fen,
        outcome: row.outcome,
        response: row.response,
      },
    ]),
  );
}
