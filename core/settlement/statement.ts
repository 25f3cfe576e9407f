import type { Pool } from '../db/pool.ts';
import { subjects } from '../ledger/subjects.ts';
import { withLedgerTransaction, type Client } from '../ledger/store/unit-of-work.ts';

/** Flags of one kind listed one by one are capped; the rest are counted in the statement's totals. */
export const flagsPerKindMax = 500;

export interface StatementKey {
  statementId: string;
  businessDate: string;
  departmentId: string;
}

export type StatementState = 'awaiting_approval' | 'approved' | 'rejected' | 'settled' | 'lapsed';

export interface PreparedStatement {
  statementId: string;
  state: StatementState;
  revision: number;
  merchants: number;
  totalFen: bigint;
  flags: number;
}

export class SettlementRefusal extends Error {
  constructor(
    readonly code:
      | 'department_not_found'
      | 'statement_not_found'
      | 'statement_not_awaiting_approval'
      | 'preparer_cannot_approve'
      | 'not_permitted',
    message: string,
  ) {
    super(message);
  }
}

/**
 * 日结单: for each independently settling merchant of the department, the day's takings from the ledger and
 * what it is owed through the day (its payable's balance from the postings of that day and before, so a
 * late offline record of an earlier day is paid with the next statement); the POS terminals' own day totals
 * compared with the ledger's; blacklisted cards, reversals, offline and late records and purse findings
 * flagged. A statement settled already is left as it is; one rejected is prepared again as a new revision.
 */
export async function prepareStatement(
  db: Pool,
  key: StatementKey & { preparedBy: string },
): Promise<PreparedStatement> {
  return withLedgerTransaction(db, async (client) => {
    await client.query(`select pg_advisory_xact_lock(hashtext($1))`, [key.statementId]);
    const department = await client.query(`select 1 from settlement_departments where department_id = $1`, [
      key.departmentId,
    ]);
    if (!department.rows[0])
      throw new SettlementRefusal('department_not_found', `no settlement department ${key.departmentId}`);
    const existing = await client.query<{ state: StatementState; revision: number }>(
      `select state, revision from settlement_statements where statement_id = $1 for update`,
      [key.statementId],
    );
    const before = existing.rows[0];
    if (before && before.state !== 'rejected' && before.state !== 'awaiting_approval')
      return summary(client, key.statementId);
    const revision = before ? before.revision + (before.state === 'rejected' ? 1 : 0) : 1;
    await client.query(`delete from settlement_statements where statement_id = $1`, [key.statementId]);
    await client.query(
      `insert into settlement_statements (statement_id, business_date, department_id, revision, state, prepared_by, total_fen)
       values ($1, $2, $3, $4, 'awaiting_approval', $5, 0)`,
      [key.statementId, key.businessDate, key.departmentId, revision, key.preparedBy],
    );
    await insertLines(client, key);
    await insertFlags(client, key);
    await client.query(
      `update settlement_statements set total_fen = coalesce((select sum(payable_fen) from settlement_lines where statement_id = $1), 0)
        where statement_id = $1`,
      [key.statementId],
    );
    return summary(client, key.statementId);
  });
}

async function summary(client: Client, statementId: string): Promise<PreparedStatement> {
  const { rows } = await client.query<{
    state: StatementState;
    revision: number;
    total_fen: bigint;
    merchants: number;
    flags: number;
  }>(
    `select s.state, s.revision, s.total_fen,
            (select count(*)::int from settlement_lines l where l.statement_id = s.statement_id) as merchants,
            (select count(*)::int from settlement_flags f where f.statement_id = s.statement_id) as flags
       from settlement_statements s where s.statement_id = $1`,
    [statementId],
  );
  const row = rows[0]!;
  return {
    statementId,
    state: row.state,
    revision: row.revision,
    merchants: row.merchants,
    totalFen: row.total_fen,
    flags: row.flags,
  };
}

/** The departments that have merchants settling on their own: the ones a nightly run prepares statements for. */
export async function settlingDepartments(db: Pick<Pool, 'query'>): Promise<string[]> {
  const { rows } = await db.query<{ department_id: string }>(
    `select distinct department_id from merchants
      where department_id is not null and settlement_kind = 'independent' order by department_id`,
  );
  return rows.map((r) => r.department_id);
}

/** The merchants of the department that settle on their own, with their managed merchants' takings. */
const groupsSql = `
  groups as (
    select m.merchant_id as settling_id, g.merchant_id
      from merchants m join merchants g on g.merchant_id = m.merchant_id or g.parent_merchant_id = m.merchant_id
     where m.department_id = $2 and m.settlement_kind = 'independent'
  )`;

async function insertLines(client: Client, key: StatementKey): Promise<void> {
  await client.query(
    `with ${groupsSql},
     day as (
       select g.settling_id,
              count(*) filter (where t.kind in ('purchase', 'offline_purchase'))::int as purchases,
              coalesce(sum(t.amount_fen) filter (where t.kind in ('purchase', 'offline_purchase')), 0) as purchase_fen,
              count(*) filter (where t.kind = 'offline_purchase')::int as offline_purchases,
              coalesce(sum(t.amount_fen) filter (where t.kind = 'offline_purchase'), 0) as offline_fen,
              coalesce(sum(t.amount_fen) filter (where t.kind = 'refund'), 0) as refund_fen,
              coalesce(sum(t.amount_fen) filter (where t.kind = 'reversal'), 0) as reversal_fen
         from groups g join ledger_transactions t on t.merchant_id = g.merchant_id and t.business_date = $3
        group by g.settling_id
     ),
     owed as (
       select a.merchant_id as settling_id, -coalesce(sum(p.amount_fen), 0) as payable_fen
         from accounts a
         join ledger_postings p on p.account_id = a.account_id
         join ledger_transactions t on t.transaction_id = p.transaction_id and t.business_date <= $3
        where a.subject_code = $4 and a.merchant_id in (select settling_id from groups)
        group by a.merchant_id
     )
     insert into settlement_lines (statement_id, merchant_id, purchases, purchase_fen, offline_purchases, offline_fen,
                                   refund_fen, reversal_fen, net_fen, payable_fen)
     select $1, s.settling_id, coalesce(d.purchases, 0), coalesce(d.purchase_fen, 0), coalesce(d.offline_purchases, 0),
            coalesce(d.offline_fen, 0), coalesce(d.refund_fen, 0), coalesce(d.reversal_fen, 0),
            coalesce(d.purchase_fen - d.refund_fen - d.reversal_fen, 0), coalesce(o.payable_fen, 0)
       from (select distinct settling_id from groups) s
       left join day d using (settling_id) left join owed o using (settling_id)`,
    [key.statementId, key.departmentId, key.businessDate, subjects.merchantPayables],
  );
}

async function insertFlags(client: Client, key: StatementKey): Promise<void> {
  const params = [key.statementId, key.departmentId, key.businessDate, flagsPerKindMax];
  // The terminals' own day totals (终端扎帐) against the ledger's, for every POS that sold or reported.
  await client.query(
    `with ${groupsSql},
     terminals_of as (
       select g.settling_id, t.terminal_id from groups g join terminals t on t.merchant_id = g.merchant_id where t.kind = 'pos'
     ),
     booked as (
       select x.settling_id, x.terminal_id, count(l.*)::int as purchases, coalesce(sum(l.amount_fen), 0) as amount_fen
         from terminals_of x left join ledger_transactions l
           on l.terminal_id = x.terminal_id and l.business_date = $3 and l.kind in ('purchase', 'offline_purchase')
        group by x.settling_id, x.terminal_id
     )
     insert into settlement_flags (statement_id, kind, merchant_id, terminal_id, detail)
     select $1, case when r.terminal_id is null then 'terminal_totals_missing' else 'terminal_totals_differ' end,
            b.settling_id, b.terminal_id,
            jsonb_build_object('ledgerPurchases', b.purchases, 'ledgerFen', b.amount_fen::text,
                               'terminalPurchases', r.purchases, 'terminalFen', r.amount_fen::text)
       from booked b left join terminal_day_totals r on r.terminal_id = b.terminal_id and r.business_date = $3
      where (r.terminal_id is null and b.purchases > 0)
         or (r.terminal_id is not null and (r.purchases <> b.purchases or r.amount_fen <> b.amount_fen))
      order by b.terminal_id
      limit $4`,
    params,
  );
  // Purchases by cards the terminal should have refused: booked because the money left the card offline.
  await client.query(
    `with ${groupsSql}
     insert into settlement_flags (statement_id, kind, merchant_id, terminal_id, detail)
     select $1, 'blacklisted_card_purchase', g.settling_id, t.terminal_id,
            jsonb_build_object('transactionId', t.transaction_id::text, 'cardNo', t.card_no,
                               'cardStatus', t.detail->>'cardStatus', 'amountFen', t.amount_fen::text)
       from groups g join ledger_transactions t on t.merchant_id = g.merchant_id
      where t.business_date = $3 and t.kind = 'offline_purchase' and t.detail->>'cardStatus' <> 'active'
      order by t.transaction_id
      limit $4`,
    params,
  );
  // Per merchant: the day's reversals and offline records, and records of earlier days booked on this one.
  await client.query(
    `with ${groupsSql},
     counted as (
       select g.settling_id,
              count(*) filter (where t.kind = 'reversal' and t.business_date = $3) as reversals,
              coalesce(sum(t.amount_fen) filter (where t.kind = 'reversal' and t.business_date = $3), 0) as reversal_fen,
              count(*) filter (where t.kind = 'offline_purchase' and t.business_date = $3) as offline,
              coalesce(sum(t.amount_fen) filter (where t.kind = 'offline_purchase' and t.business_date = $3), 0) as offline_fen,
              count(*) filter (where t.kind = 'offline_purchase' and t.business_date < $3) as late,
              coalesce(sum(t.amount_fen) filter (where t.kind = 'offline_purchase' and t.business_date < $3), 0) as late_fen
         from groups g join ledger_transactions t on t.merchant_id = g.merchant_id
        where t.business_date = $3
           or (t.business_date < $3 and t.kind = 'offline_purchase'
               and (t.created_at at time zone 'Asia/Shanghai')::date = $3)
        group by g.settling_id
     )
     insert into settlement_flags (statement_id, kind, merchant_id, detail)
     select $1, kind, settling_id, jsonb_build_object('count', n, 'amountFen', fen::text)
       from counted, lateral (values ('reversal', reversals, reversal_fen), ('offline_records', offline, offline_fen),
                                     ('late_offline_records', late, late_fen)) v(kind, n, fen)
      where n > 0`,
    params.slice(0, 3),
  );
  // Purse findings (卡库不平, shortfalls, forged TACs) reported that day at the department's terminals.
  await client.query(
    `with ${groupsSql}
     insert into settlement_flags (statement_id, kind, merchant_id, terminal_id, detail)
     select $1, 'purse_report', g.settling_id, t.terminal_id,
            jsonb_build_object('kind', r.kind, 'count', count(*))
       from purse_reports r
       join terminals t on t.terminal_id = split_part(r.record_key, ':', 2)
       join groups g on g.merchant_id = t.merchant_id
      where (r.created_at at time zone 'Asia/Shanghai')::date = $3
      group by g.settling_id, t.terminal_id, r.kind
      order by t.terminal_id
      limit $4`,
    params,
  );
}
