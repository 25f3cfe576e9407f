import {
  ParentClosePolicy,
  condition,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type {
  DailySettlementActivities,
  DailySettlementInput,
  NightlySettlementInput,
  ReportsRefresh,
  SettlementDecisionSignal,
} from '../../activities/daily-settlement/types.ts';
import { businessDate } from '../../core/ledger/calendar.ts';
import { queryNames, signalNames, workflowIds, workflowTypes } from '../names.ts';

export type DailySettlementPhase =
  'preparing' | 'awaiting_approval' | 'posting' | 'refreshing_reports' | 'settled' | 'rejected' | 'lapsed';

export interface DailySettlementState {
  phase: DailySettlementPhase;
  statement?: { revision: number; merchants: number; totalFen: number; flags: number };
  decision?: SettlementDecisionSignal;
  /** Decisions refused (no permission, the preparer approving, ...): recorded, and the wait goes on. */
  refusedDecisions: Array<SettlementDecisionSignal & { code: string }>;
  journal?: { posted: number; totalFen: number };
  payoutFile?: { file: string; sha256: string; lines: number };
  reports?: ReportsRefresh | { skipped: string };
}

export interface DailySettlementResult extends DailySettlementState {
  workflowId: string;
}

export const settlementDecisionSignal = defineSignal<[SettlementDecisionSignal]>(
  signalNames.settlementDecision,
);
export const dailySettlementStateQuery = defineQuery<DailySettlementState>(queryNames.dailySettlementState);

export const decisionWithinMsDefault = 30 * 86_400_000;
/** Decisions looked at before the statement stops listening (a limit on the loop). */
export const decisionsMax = 50;

const office = proxyActivities<DailySettlementActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: ['department_not_found'],
  },
});
// Money and the payout file: retried until they land, since each step is idempotent.
const books = proxyActivities<DailySettlementActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
const warehouse = proxyActivities<DailySettlementActivities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '30 seconds', maximumInterval: '10 minutes', maximumAttempts: 3 },
});

/**
 * 日结 of one settlement department: the statement from the ledger (with the terminals' own totals and the
 * exceptions flagged), then a wait for finance. An approval by someone with the permission who did not
 * prepare it posts the settlement journal, writes the payout file and refreshes the report models; a
 * rejection ends it (finance starts it again once the cause is fixed: a new revision).
 */
export async function dailySettlement(input: DailySettlementInput): Promise<DailySettlementResult> {
  const { workflowId } = workflowInfo();
  const statementId = workflowId;
  const state: DailySettlementState = { phase: 'preparing', refusedDecisions: [] };
  const decisions: SettlementDecisionSignal[] = [];
  setHandler(settlementDecisionSignal, (decision) => void decisions.push(decision));
  setHandler(dailySettlementStateQuery, () => state);
  const done = (): DailySettlementResult => ({ ...state, workflowId });

  const prepared = await office.prepareStatement({
    statementId,
    businessDate: input.businessDate,
    departmentId: input.departmentId,
    preparedBy: input.preparedBy,
  });
  state.statement = prepared;
  if (prepared.state === 'settled') {
    state.phase = 'settled';
    return done();
  }

  state.phase = 'awaiting_approval';
  const deadline = Date.now() + (input.decisionWithinMs ?? decisionWithinMsDefault);
  for (let looked = 0; looked < decisionsMax && !state.decision;) {
    const leftMs = deadline - Date.now();
    if (leftMs <= 0 || !(await condition(() => decisions.length > 0, leftMs))) break;
    const decision = decisions.shift()!;
    looked += 1;
    const answer = await office.decideStatement({ statementId, ...decision });
    if (answer.accepted) state.decision = decision;
    else state.refusedDecisions.push({ ...decision, code: answer.code });
  }
  if (!state.decision) {
    await office.lapseStatement({ statementId });
    state.phase = 'lapsed';
    return done();
  }
  if (state.decision.decision === 'reject') {
    state.phase = 'rejected';
    return done();
  }

  state.phase = 'posting';
  state.journal = await books.postSettlementJournal({ statementId });
  state.payoutFile = await books.writePayoutFile({ statementId });
  if (input.refreshReports !== false) {
    state.phase = 'refreshing_reports';
    state.reports = await refresh(input.businessDate);
    await office.recordReports({ statementId, reports: state.reports });
  }
  state.phase = 'settled';
  return done();
}

/** A report build that fails is told, never undoes the settlement. */
async function refresh(day: string): Promise<ReportsRefresh | { skipped: string }> {
  try {
    return await warehouse.refreshReports({ businessDate: day });
  } catch (error) {
    log.warn('report models not refreshed', { businessDate: day, error: String(error) });
    return { skipped: `refresh_failed: ${String(error).slice(0, 300)}` };
  }
}

/**
 * Each night (a Temporal Schedule starts it): one 日结 per settlement department for yesterday, each under
 * its business key, so a department started by hand already is left as it is; then the report models are
 * refreshed for the day, so the morning's reports are there before anyone approves.
 */
export async function nightlySettlement(input: NightlySettlementInput = {}): Promise<{
  businessDate: string;
  started: string[];
  alreadyRunning: string[];
  reports: ReportsRefresh | { skipped: string };
}> {
  const day = input.businessDate ?? businessDate(new Date(Date.now() - 86_400_000));
  const { departmentIds } = await office.listSettlementDepartments();
  const started: string[] = [];
  const alreadyRunning: string[] = [];
  for (const departmentId of departmentIds) {
    const workflowId = workflowIds.dailySettlement(day, departmentId);
    try {
      await startChild(workflowTypes.dailySettlement, {
        workflowId,
        args: [
          {
            businessDate: day,
            departmentId,
            preparedBy: 'nightly-schedule',
            decisionWithinMs: input.decisionWithinMs,
          } satisfies DailySettlementInput,
        ],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        searchAttributes: { BusinessKey: [workflowId] },
      });
      started.push(workflowId);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      alreadyRunning.push(workflowId);
    }
  }
  const reports = input.refreshReports === false ? { skipped: 'not_asked' } : await refresh(day);
  return { businessDate: day, started, alreadyRunning, reports };
}
