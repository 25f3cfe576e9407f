// The purchase path's named statements keep the plan a connection makes of them after its first batches. On a
// young system those batches meet ledger tables of a few pages, where a scan of the whole table is the
// cheapest plan, and the plan then scans them whole as they grow. The purchase pool's connections must plan
// every lookup by key whatever the tables' size; a database of this suite's own holds such a young ledger.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { createPurchasePool, readAndLockText } from '../../core/ledger/store/purchase-batch.ts';
import { ledgerWriteText, writeLedger } from '../../core/ledger/store/write.ts';
import { createOwnDatabase } from '../support/own-database.ts';
import { createCards, createSchool, fund } from './fixture.ts';

let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let purchasePool: Pool;
let plainPool: Pool;

beforeAll(async () => {
  own = await createOwnDatabase('purchase_plans');
  plainPool = createPool(own.url, { max: 1 });
  // A young system: one school with twenty funded cards, a hundred stored answers, and statistics that
  // know all of it.
  const school = await createSchool(plainPool);
  await fund(plainPool, school, await createCards(plainPool, school, 20), 1_000n);
  await plainPool.query(
    `insert into ledger_requests (request_key, kind, fingerprint, outcome, response)
     select 'pos:T' || g || ':1', 'purchase', 'f', 'ok', '{}' from generate_series(1, 100) g`,
  );
  await plainPool.query('analyze');
  purchasePool = createPurchasePool(own.url, 1);
});
afterAll(async () => {
  await purchasePool?.end();
  await plainPool?.end();
  await own?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

/**
 * Every table and index the generic plan of `statement` reads whole, on a connection of `pool`: a sequential
 * scan, or an index scan with no condition (an index read whole for its order, or to be joined).
 */
async function tablesScannedWhole(pool: Pool, statement: string): Promise<string[]> {
  const { rows } = await pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
    `explain (generic_plan, format json) ${statement}`,
  );
  const scanned: string[] = [];
  const walk = (node: PlanNode) => {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) scanned.push(node['Relation Name']);
    // An index read with no condition reads the whole index (for its order, or to join it).
    if (/^Index (Only )?Scan$/.test(node['Node Type']) && !node['Index Cond'])
      scanned.push(`${node['Relation Name']} (${node['Index Name']})`);
    node.Plans?.forEach(walk);
  };
  walk(rows[0]!['QUERY PLAN'][0]!.Plan);
  return scanned.sort();
}

test('with default settings, the read of a young ledger scans its stored requests whole', async () => {
  expect(await tablesScannedWhole(plainPool, readAndLockText)).toContain('ledger_requests');
});

test('on the purchase connections, the read and the write find every row by key', async () => {
  expect(await tablesScannedWhole(purchasePool, readAndLockText)).toEqual([]);
  expect(await tablesScannedWhole(purchasePool, ledgerWriteText)).toEqual([]);
});

test('the purchase connections use their generic plans from the first run', async () => {
  const { rows } = await purchasePool.query<{ plan_cache_mode: string }>('show plan_cache_mode');
  expect(rows[0]!.plan_cache_mode).toBe('force_generic_plan');
});

// The ledger's triggers keep one plan per connection of each check (migration 0101): a count of the
// statement's keys in one primary key, run with sequential scans off.
const keyProbes = [
  'select count(*) from ledger_transactions t where t.transaction_id = any($1::bigint[])',
  'select count(*) from accounts a where a.account_id = any($1::bigint[])',
];

test('the ledger checks run with sequential scans off and generic plans', async () => {
  const { rows } = await plainPool.query<{ proname: string; proconfig: string[] }>(
    `select proname, proconfig from pg_proc
      where proname in ('ledger_assert_balanced', 'ledger_requests_assert_transactions') order by proname`,
  );
  expect(rows).toEqual(
    ['ledger_assert_balanced', 'ledger_requests_assert_transactions'].map((proname) => ({
      proname,
      proconfig: ['enable_seqscan=off', 'plan_cache_mode=force_generic_plan'],
    })),
  );
});

test.each(keyProbes)(
  'on a young ledger, the check %s probes its keys only with those settings',
  async (probe) => {
    expect(await tablesScannedWhole(plainPool, probe)).not.toEqual([]);
    const client = await plainPool.connect();
    try {
      await client.query('set enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
        `explain (generic_plan, format json) ${probe}`,
      );
      expect(JSON.stringify(rows[0]!['QUERY PLAN'])).not.toContain('Seq Scan');
    } finally {
      await client.query('reset enable_seqscan');
      client.release();
    }
  },
);

test('on a young ledger, the checks of a write scan neither transactions nor accounts whole', async () => {
  // The triggers themselves, through a real write. pg_stat_xact_user_tables counts this backend's scans
  // not yet reported (earlier transactions' too), so the write's own are the difference.
  const { rows: accounts } = await plainPool.query<{ account_id: string }>(
    `select account_id::text from accounts where wallet_kind = 'main' order by account_id limit 2`,
  );
  const client = await plainPool.connect();
  const wholeScans = async () =>
    (
      await client.query<{ relname: string; seq_scan: number }>(
        `select relname, seq_scan::int from pg_stat_xact_user_tables
          where relname in ('accounts', 'ledger_transactions') order by relname`,
      )
    ).rows;
  try {
    await client.query('begin');
    const before = await wholeScans();
    const { rows: made } = await client.query<{ transaction_id: string }>(
      `insert into ledger_transactions (request_key, kind, amount_fen, business_date)
       values ('plans:checked', 'transfer', 5, current_date) returning transaction_id::text`,
    );
    const transactionId = made[0]!.transaction_id;
    await client.query(
      `insert into ledger_postings (transaction_id, account_id, amount_fen, balance_fen_after)
       values ($1, $2, 5, 0), ($1, $3, -5, 0)`,
      [transactionId, accounts[0]!.account_id, accounts[1]!.account_id],
    );
    await client.query(
      `insert into ledger_requests (request_key, kind, fingerprint, outcome, transaction_id, response)
       values ('plans:checked', 'transfer', 'f', 'ok', $1, '{}')`,
      [transactionId],
    );
    expect(await wholeScans()).toEqual(before);
  } finally {
    await client.query('rollback');
    client.release();
  }
});

test('a write on a pipelined connection without its transaction ids is refused, and nothing is written', async () => {
  // Its commit would already be queued: a round trip to reserve ids would let the commit overtake the write.
  const count = async () =>
    (await plainPool.query<{ n: number }>('select count(*)::int as n from ledger_transactions')).rows[0]!.n;
  const before = await count();
  const client = await purchasePool.connect();
  try {
    await client.query('begin');
    await expect(
      writeLedger(client, {
        transactions: [
          {
            requestKey: 'plans:no-id',
            kind: 'transfer',
            amountFen: 5n,
            businessDate: '2026-12-01',
            postings: [
              { accountId: 1n, amountFen: 5n, balanceFenAfter: 5n },
              { accountId: 2n, amountFen: -5n, balanceFenAfter: -5n },
            ],
            event: { topic: 'ledger.transfer', aggregateKey: 'x', payload: {} },
          },
        ],
        balances: [],
        requests: [],
      }),
    ).rejects.toThrow('a pipelined ledger write must come with its transaction ids');
    await client.query('rollback');
  } finally {
    client.release();
  }
  expect(await count()).toBe(before);
});
