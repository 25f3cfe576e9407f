import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from '../../core/db/pool.ts';
import { checkDecision, lapseStatement, recordDecision } from '../../core/settlement/approval.ts';
import { postSettlementJournal } from '../../core/settlement/journal.ts';
import { markSettled, writePayoutFile } from '../../core/settlement/payout-file.ts';
import { prepareStatement, SettlementRefusal, settlingDepartments } from '../../core/settlement/statement.ts';
import type { ReportsRefresher } from '../../warehouse/nightly-refresh.ts';
import type { DailySettlementActivities } from './types.ts';

export interface DailySettlementDeps {
  db: Pool;
  /** The report models' refresh (dbt); the step is skipped, and says so, when not given. */
  reports?: ReportsRefresher;
}

export function createDailySettlementActivities(deps: DailySettlementDeps): DailySettlementActivities {
  const { db } = deps;
  return {
    async prepareStatement(input) {
      try {
        const prepared = await prepareStatement(db, input);
        return { ...prepared, totalFen: Number(prepared.totalFen) };
      } catch (error) {
        if (error instanceof SettlementRefusal)
          throw ApplicationFailure.nonRetryable(error.message, error.code);
        throw error;
      }
    },

    async decideStatement({ statementId, decision, operatorId, reason }) {
      try {
        await checkDecision(db, { statementId, operatorId, decision });
      } catch (error) {
        if (error instanceof SettlementRefusal)
          return { accepted: false, code: error.code, message: error.message };
        throw error;
      }
      await recordDecision(db, { statementId, operatorId, decision, reason });
      return { accepted: true };
    },

    async lapseStatement({ statementId }) {
      await lapseStatement(db, statementId);
    },

    async postSettlementJournal({ statementId }) {
      const posted = await postSettlementJournal(db, statementId);
      return { posted: posted.posted, totalFen: Number(posted.totalFen) };
    },

    async writePayoutFile({ statementId }) {
      const written = await writePayoutFile(db, statementId);
      await markSettled(db, { statementId, file: written.file, sha256: written.sha256 });
      return { file: written.file, sha256: written.sha256, lines: written.lines };
    },

    async listSettlementDepartments() {
      return { departmentIds: await settlingDepartments(db) };
    },

    async refreshReports({ businessDate }) {
      if (!deps.reports) return { skipped: 'reports_not_configured' };
      // dbt prints a line per model: each one is a heartbeat, so a stuck build is seen and retried.
      return deps.reports.refresh(businessDate, (line) => Context.current().heartbeat(line));
    },

    async recordReports({ statementId, reports }) {
      await db.query(`update settlement_statements set reports = $2 where statement_id = $1`, [
        statementId,
        JSON.stringify(reports),
      ]);
    },
  };
}
