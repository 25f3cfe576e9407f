import type pg from 'pg';
import type { Pool } from '../db/pool.ts';
import { fingerprint } from '../ledger/idempotency.ts';
import { OfficeRefusal } from '../keys/refusal.ts';

export type Client = pg.PoolClient;

export interface OfficeContext {
  client: Client;
  requestKey: string;
  operatorId: string;
  audit(entry: {
    action: string;
    schoolId?: string | null;
    cardholderId?: bigint | null;
    cardNo?: string | null;
    detail?: Record<string, unknown>;
  }): Promise<void>;
}

export interface OfficeAnswer {
  response: Record<string, unknown>;
  replayed: boolean;
}

/**
 * The one way a card-office step runs: one database transaction that checks the request key (a repeat
 * with the same content gets the first answer, other content under the key is refused), does the step,
 * writes its audit rows and stores the answer. A refusal (OfficeRefusal) rolls everything back.
 */
export async function runOfficeCommand(
  pool: Pool,
  command: {
    requestKey: string;
    kind: string;
    operatorId: string;
    content: unknown;
    run(context: OfficeContext): Promise<Record<string, unknown>>;
  },
): Promise<OfficeAnswer> {
  const print = fingerprint({ kind: command.kind, operatorId: command.operatorId, content: command.content });
  const client = await pool.connect();
  try {
    await client.query('begin');
    // Two requests with one key wait for each other here instead of both running.
    await client.query(`select pg_advisory_xact_lock(hashtext($1))`, [command.requestKey]);
    const { rows } = await client.query<{ fingerprint: string; response: Record<string, unknown> }>(
      `select fingerprint, response from card_office_requests where request_key = $1`,
      [command.requestKey],
    );
    if (rows[0]) {
      await client.query('rollback');
      if (rows[0].fingerprint !== print)
        throw new OfficeRefusal(
          'exists_with_different_content',
          `request key ${command.requestKey} was already used for a different request`,
        );
      return { response: rows[0].response, replayed: true };
    }
    const context: OfficeContext = {
      client,
      requestKey: command.requestKey,
      operatorId: command.operatorId,
      audit: async (entry) => {
        await client.query(
          `insert into card_office_audit (operator_id, action, school_id, cardholder_id, card_no, request_key, detail)
           values ($1, $2, $3, $4, $5, $6, $7)`,
          [
            command.operatorId,
            entry.action,
            entry.schoolId ?? null,
            entry.cardholderId?.toString() ?? null,
            entry.cardNo ?? null,
            command.requestKey,
            JSON.stringify(entry.detail ?? {}),
          ],
        );
      },
    };
    const response = await command.run(context);
    await client.query(
      `insert into card_office_requests (request_key, kind, fingerprint, response) values ($1, $2, $3, $4)`,
      [command.requestKey, command.kind, print, JSON.stringify(response, jsonSafe)],
    );
    await client.query('commit');
    return { response: JSON.parse(JSON.stringify(response, jsonSafe)), replayed: false };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** bigints (ids, fen) become JSON numbers when safe, strings otherwise. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint')
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  return value;
}
