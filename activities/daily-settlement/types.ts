import type { ReportsRefresh } from '../../warehouse/nightly-refresh.ts';

export type { ReportsRefresh };

/** What starts 日结 of one settlement department for one business day, and who prepared it. */
export interface DailySettlementInput {
  businessDate: string;
  departmentId: string;
  /** The operator who started it by hand, or `nightly-schedule`; the preparer never approves it. */
  preparedBy: string;
  /** How long the statement waits for a decision before it lapses: 30 days unless set. */
  decisionWithinMs?: number;
  /** Refresh the report models (dbt) once the settlement is posted: yes unless set to false. */
  refreshReports?: boolean;
}

/** The nightly run over every department; the business day is yesterday's, unless given. */
export interface NightlySettlementInput {
  businessDate?: string;
  decisionWithinMs?: number;
  /** Refresh the report models for the day once the statements are prepared: yes unless set to false. */
  refreshReports?: boolean;
}

export interface SettlementDecisionSignal {
  decision: 'approve' | 'reject';
  operatorId: string;
  reason?: string;
}

export interface DailySettlementActivities {
  /** Computes (or, after a rejection, recomputes) the statement; a settled one answers as it is. */
  prepareStatement(input: {
    statementId: string;
    businessDate: string;
    departmentId: string;
    preparedBy: string;
  }): Promise<{ state: string; revision: number; merchants: number; totalFen: number; flags: number }>;
  /** Checks a decision against the approver's permission and the preparer rule, and records it if allowed. */
  decideStatement(
    input: { statementId: string } & SettlementDecisionSignal,
  ): Promise<{ accepted: true } | { accepted: false; code: string; message: string }>;
  lapseStatement(input: { statementId: string }): Promise<void>;
  /** Posts the settlement journal of an approved statement (idempotent per merchant line). */
  postSettlementJournal(input: { statementId: string }): Promise<{ posted: number; totalFen: number }>;
  /** Writes the payout file and marks the statement settled. */
  writePayoutFile(input: { statementId: string }): Promise<{ file: string; sha256: string; lines: number }>;
  /** The departments that have merchants settling on their own. */
  listSettlementDepartments(): Promise<{ departmentIds: string[] }>;
  /** Replays the day into the warehouse, loads the ledger's totals, builds the report models. */
  refreshReports(input: { businessDate: string }): Promise<ReportsRefresh | { skipped: string }>;
  /** Keeps the outcome of the refresh on the statement, for the console and finance. */
  recordReports(input: { statementId: string; reports: ReportsRefresh | { skipped: string } }): Promise<void>;
}
