import type { Pool } from '../db/pool.ts';
import { SettlementRefusal, type StatementState } from './statement.ts';

export type Decision = 'approve' | 'reject';

/** Gives an operator the right to approve settlements of a department and those under it (all, with none). */
export async function grantSettlementApproval(
  db: Pick<Pool, 'query'>,
  grant: { operatorId: string; departmentId: string | null; grantedBy: string },
): Promise<{ granted: boolean }> {
  if (grant.departmentId !== null) {
    const { rows } = await db.query(`select 1 from settlement_departments where department_id = $1`, [
      grant.departmentId,
    ]);
    if (!rows[0])
      throw new SettlementRefusal('department_not_found', `no settlement department ${grant.departmentId}`);
  }
  const { rowCount } = await db.query(
    `insert into finance_grants (operator_id, permission, department_id, granted_by)
     values ($1, 'settlement_approve', $2, $3) on conflict do nothing`,
    [grant.operatorId, grant.departmentId, grant.grantedBy],
  );
  return { granted: rowCount === 1 };
}

/**
 * Whether this operator may take this decision on this statement now: the statement waits for approval,
 * the operator holds the approval permission for its department (or one above it, or the district), and
 * whoever prepared a statement does not approve it. Throws the refusal that says which rule stopped it.
 */
export async function checkDecision(
  db: Pick<Pool, 'query'>,
  input: { statementId: string; operatorId: string; decision: Decision },
): Promise<void> {
  const { rows } = await db.query<{ state: StatementState; prepared_by: string; permitted: boolean }>(
    `with recursive up as (
       select d.department_id, d.parent_department_id, 0 as depth
         from settlement_departments d join settlement_statements s using (department_id) where s.statement_id = $1
       union all
       select p.department_id, p.parent_department_id, up.depth + 1
         from settlement_departments p join up on p.department_id = up.parent_department_id where up.depth < 32
     )
     select s.state, s.prepared_by,
            exists (select 1 from finance_grants g where g.operator_id = $2 and g.permission = 'settlement_approve'
                     and (g.department_id is null or g.department_id in (select department_id from up))) as permitted
       from settlement_statements s where s.statement_id = $1`,
    [input.statementId, input.operatorId],
  );
  const statement = rows[0];
  if (!statement) throw new SettlementRefusal('statement_not_found', `no statement ${input.statementId}`);
  if (statement.state !== 'awaiting_approval')
    throw new SettlementRefusal(
      'statement_not_awaiting_approval',
      `statement ${input.statementId} is ${statement.state}, not awaiting approval`,
    );
  if (!statement.permitted)
    throw new SettlementRefusal(
      'not_permitted',
      `operator ${input.operatorId} may not approve settlements of this department`,
    );
  if (input.decision === 'approve' && statement.prepared_by === input.operatorId)
    throw new SettlementRefusal(
      'preparer_cannot_approve',
      `operator ${input.operatorId} prepared statement ${input.statementId} and cannot also approve it`,
    );
}

/** Records a decision that passed checkDecision; a repeat of the same decision by the same operator is a no-op. */
export async function recordDecision(
  db: Pick<Pool, 'query'>,
  input: { statementId: string; operatorId: string; decision: Decision; reason?: string },
): Promise<void> {
  const state = input.decision === 'approve' ? 'approved' : 'rejected';
  await db.query(
    `update settlement_statements set state = $2, decided_by = $3, decided_at = now(), decision_reason = $4
      where statement_id = $1 and state = 'awaiting_approval'`,
    [input.statementId, state, input.operatorId, input.reason ?? null],
  );
}

/** A statement nobody decided on within its time: it lapses, and the next night's statement carries what it owed. */
export async function lapseStatement(db: Pick<Pool, 'query'>, statementId: string): Promise<void> {
  await db.query(
    `update settlement_statements set state = 'lapsed' where statement_id = $1 and state = 'awaiting_approval'`,
    [statementId],
  );
}
