// The database's own last line of defence behind the application's assertions: whatever writes to the
// ledger tables, postings must balance per transaction and point at transactions and accounts that exist,
// and a stored answer must point at a transaction that exists. A refused statement is undone whole, as every
// statement is. Every test runs in a transaction that is rolled back, so the shared database keeps none of it.
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import type pg from 'pg';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { stackConfig } from '../support/env.ts';
import { createCards, createSchool, fund, uniqueId } from './fixture.ts';

let pool: Pool;
let walletId: string;
let otherWalletId: string;

beforeAll(async () => {
  pool = createPool(stackConfig().DATABASE_URL);
  const school = await createSchool(pool);
  const cards = await createCards(pool, school, 2);
  await fund(pool, school, cards, 1_000n);
  const { rows } = await pool.query<{ account_id: string }>(
    `select a.account_id::text from cards c join accounts a on a.cardholder_id = c.cardholder_id
      where c.card_no = any($1::text[]) and a.wallet_kind = 'main' order by a.account_id`,
    [cards],
  );
  [walletId, otherWalletId] = rows.map((r) => r.account_id) as [string, string];
});
afterAll(async () => {
  await pool?.end();
});

let client: pg.PoolClient;
beforeEach(async () => {
  client = await pool.connect();
  await client.query('begin');
});
afterEach(async () => {
  await client.query('rollback');
  client.release();
});

/** Runs a statement that must be refused, in a savepoint, so the test's transaction goes on after it. */
async function refused(text: string, values: unknown[]): Promise<unknown> {
  await client.query('savepoint refused');
  const error = await client.query(text, values).then(
    () => undefined,
    (e: unknown) => e,
  );
  await client.query('rollback to savepoint refused');
  return error;
}

/** A transaction row of its own, so postings have something to point at. */
async function newTransaction(): Promise<string> {
  const { rows } = await client.query<{ transaction_id: string }>(
    `insert into ledger_transactions (request_key, kind, amount_fen, business_date)
     values ($1, 'transfer', 1, current_date) returning transaction_id::text`,
    [uniqueId('guard')],
  );
  return rows[0]!.transaction_id;
}

const postingsOf = async (transactionId: string) =>
  (
    await client.query<{ n: number }>(
      `select count(*)::int as n from ledger_postings where transaction_id = $1`,
      [transactionId],
    )
  ).rows[0]!.n;

test('postings that do not sum to zero are refused', async () => {
  const tx = await newTransaction();
  expect(
    await refused(
      `insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
       values ($1, $2, 5, 0), ($1, $3, -4, 0)`,
      [tx, walletId, otherWalletId],
    ),
  ).toMatchObject({ code: 'P0002', message: `ledger assertion: transaction ${tx} does not balance` });
});

test('postings of a transaction that does not exist are refused, even next to good ones', async () => {
  const tx = await newTransaction();
  const missing = '9000000000000';
  expect(
    await refused(
      `insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
       values ($1, $3, 5, 0), ($1, $4, -5, 0), ($2, $3, 5, 0), ($2, $4, -5, 0)`,
      [tx, missing, walletId, otherWalletId],
    ),
  ).toMatchObject({
    code: '23503',
    message: `ledger assertion: postings of transaction ${missing} that does not exist`,
  });
});

test('a posting on an account that does not exist is refused', async () => {
  const tx = await newTransaction();
  const missing = '9000000000001';
  expect(
    await refused(
      `insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
       values ($1, $2, 5, 0), ($1, $3, -5, 0)`,
      [tx, walletId, missing],
    ),
  ).toMatchObject({
    code: '23503',
    message: `ledger assertion: a posting on account ${missing} that does not exist`,
  });
});

test('a stored answer that points at a transaction that does not exist is refused', async () => {
  const key = uniqueId('guard-request');
  const missing = '9000000000002';
  expect(
    await refused(
      `insert into ledger_requests (request_key, kind, fingerprint, outcome, transaction_id, response)
       values ($1, 'transfer', 'f', 'ok', $2, '{}')`,
      [key, missing],
    ),
  ).toMatchObject({
    code: '23503',
    message: `ledger assertion: a request answered by transaction ${missing} that does not exist`,
  });
});

test('balanced postings of transactions and accounts that exist are taken', async () => {
  const tx = await newTransaction();
  await client.query(
    `insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
     values ($1, $2, 1, 0), ($1, $3, -1, 0)`,
    [tx, walletId, otherWalletId],
  );
  expect(await postingsOf(tx)).toBe(2);
});

test('with both a missing transaction and a missing account, the missing transaction is named', async () => {
  const tx = await newTransaction();
  expect(
    await refused(
      `insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
       values ($1, $2, 5, 0), ($1, $3, -5, 0), (9000000000003, 9000000000004, 1, 0), (9000000000003, $2, -1, 0)`,
      [tx, walletId, otherWalletId],
    ),
  ).toMatchObject({
    code: '23503',
    message: 'ledger assertion: postings of transaction 9000000000003 that does not exist',
  });
});

test('an insert of no postings and answers without a transaction are taken', async () => {
  await client.query(
    `insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
     select transaction_id, account_id, amount_fen, balance_fen_after from ledger_postings where false`,
  );
  const tx = await newTransaction();
  const keys = [uniqueId('guard-refused'), uniqueId('guard-answered')];
  await client.query(
    `insert into ledger_requests (request_key, kind, fingerprint, outcome, transaction_id, response)
     values ($1, 'transfer', 'f', 'insufficient_balance', null, '{}'), ($2, 'transfer', 'f', 'ok', $3, '{}')`,
    [...keys, tx],
  );
  const { rows } = await client.query(`select 1 from ledger_requests where request_key = any($1)`, [keys]);
  expect(rows).toHaveLength(2);
});
