// `npx tsx core/ledger/check.ts` (DATABASE_URL set): recomputes every balance from the postings and
// reports each account whose stored balance differs, and any transaction that does not sum to zero.
// Exits 1 when it finds anything.
import { pathToFileURL } from 'node:url';
import { createPool, type Pool } from '../db/pool.ts';
import { limits } from './money.ts';

export interface LedgerCheck {
  accountsChecked: number;
  differences: Array<{ accountId: string; storedFen: string; recomputedFen: string }>;
  unbalancedTransactions: string[];
}

export async function checkLedger(pool: Pool): Promise<LedgerCheck> {
  const differences: LedgerCheck['differences'] = [];
  let accountsChecked = 0;
  let after = 0n;
  // Page through the accounts by id, so a city's millions of wallets never sit in memory at once.
  for (;;) {
    const { rows } = await pool.query<{ account_id: bigint; stored_fen: bigint; recomputed_fen: bigint }>(
      `select a.account_id, a.balance_fen as stored_fen,
              (a.normal_sign * coalesce((select sum(p.amount_fen) from ledger_postings p where p.account_id = a.account_id), 0))::bigint as recomputed_fen
         from accounts a where a.account_id > $1 order by a.account_id limit $2`,
      [after.toString(), limits.checkAccountsPageMax],
    );
    if (rows.length === 0) break;
    accountsChecked += rows.length;
    for (const row of rows) {
      if (row.stored_fen !== row.recomputed_fen) {
        differences.push({
          accountId: String(row.account_id),
          storedFen: String(row.stored_fen),
          recomputedFen: String(row.recomputed_fen),
        });
      }
    }
    after = rows[rows.length - 1]!.account_id;
  }
  const { rows: unbalanced } = await pool.query<{ transaction_id: bigint }>(
    `select transaction_id from ledger_postings group by transaction_id having sum(amount_fen) <> 0 limit 1000`,
  );
  return {
    accountsChecked,
    differences,
    unbalancedTransactions: unbalanced.map((r) => String(r.transaction_id)),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error(
      'DATABASE_URL is not set (the embedded one is in var/secrets.json, port 5433, database onecard)',
    );
    process.exit(2);
  }
  const pool = createPool(url, { max: 2, application: 'onecard-ledger-check' });
  const result = await checkLedger(pool);
  await pool.end();
  console.log(JSON.stringify(result, null, 2));
  process.exit(result.differences.length === 0 && result.unbalancedTransactions.length === 0 ? 0 : 1);
}
