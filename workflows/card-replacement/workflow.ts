import {
  defineQuery,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  CardReplacementActivities,
  CardReplacementInput,
  ReplacementBalances,
} from '../../activities/card-replacement/types.ts';
import { cardReplacedSignal } from '../lost-card/workflow.ts';
import { queryNames, workflowIds } from '../names.ts';
import { smsActivityOptions } from '../activity-options.ts';

export type CardReplacementPhase =
  'freezing' | 'waiting_offline' | 'transferring' | 'notifying' | 'completed';

export interface CardReplacementState {
  phase: CardReplacementPhase;
  alreadyFrozen?: boolean;
  frozenAt?: string;
  blacklistVersion?: number;
  /** The terminals that may still hold offline records of the old card, as last looked at. */
  silentTerminals: string[];
  collectionChecks: number;
  waitEnded?: 'all_collected' | 'window_passed';
  newCardNo?: string;
  balances?: ReplacementBalances;
  parentNotified?: boolean;
}

export interface CardReplacementResult extends CardReplacementState {
  workflowId: string;
  cardNo: string;
}

export const cardReplacementStateQuery = defineQuery<CardReplacementState>(queryNames.cardReplacementState);

export const offlineWindowMsDefault = 72 * 3_600_000;
export const collectionCheckMsDefault = 15 * 60_000;

// Our own database: retried briefly; the card office's refusals are final.
const office = proxyActivities<CardReplacementActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    maximumInterval: '10 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [
      'card_not_found',
      'card_is_cancelled',
      'invalid_input',
      'exists_with_different_content',
    ],
  },
});
const sms = proxyActivities<CardReplacementActivities>(smsActivityOptions);

/**
 * 补卡 with balance transfer: freezes the old card, waits until its offline records can no longer arrive
 * (every terminal that may hold them collected from after the freeze, or the window passed, listing the
 * terminals still silent), then in one step cancels the old card, issues the new one and hands it the
 * final balances recomputed from the ledger, and texts the parent. A record of the old card that comes
 * later is still booked, and flagged (after_replacement).
 */
export async function cardReplacement(input: CardReplacementInput): Promise<CardReplacementResult> {
  const { workflowId } = workflowInfo();
  const windowMs = input.offlineWindowMs ?? offlineWindowMsDefault;
  const checkMs = input.collectionCheckMs ?? collectionCheckMsDefault;
  const state: CardReplacementState = { phase: 'freezing', silentTerminals: [], collectionChecks: 0 };
  setHandler(cardReplacementStateQuery, () => state);

  const begun = await office.beginReplacement({
    cardNo: input.cardNo,
    workflowId,
    operatorId: input.operatorId,
    reason: input.reason,
  });
  state.alreadyFrozen = begun.alreadyFrozen;
  state.frozenAt = begun.frozenAt;
  state.blacklistVersion = (await office.listReplacedCard({ cardNo: input.cardNo })).version;
  await endLossReport(input, workflowId);

  state.phase = 'waiting_offline';
  state.waitEnded = await waitForOfflineRecords(input.cardNo, begun.frozenAt, windowMs, checkMs, state);

  state.phase = 'transferring';
  const moved = await office.transferToNewCard({
    cardNo: input.cardNo,
    operatorId: input.operatorId,
    reason: input.reason,
    waitEnded: state.waitEnded,
    silentTerminals: state.silentTerminals,
  });
  state.newCardNo = moved.newCardNo;
  state.balances = { mainFen: moved.mainFen, subsidyFen: moved.subsidyFen, depositFen: moved.depositFen };

  state.phase = 'notifying';
  state.parentNotified = await notify(workflowId, input.cardNo, moved);
  state.phase = 'completed';
  return { ...state, workflowId, cardNo: input.cardNo };
}

/** Looks at the silent terminals every `checkMs` until none is left or the window from the freeze passed. */
async function waitForOfflineRecords(
  cardNo: string,
  frozenAt: string,
  windowMs: number,
  checkMs: number,
  state: CardReplacementState,
): Promise<'all_collected' | 'window_passed'> {
  const deadline = Date.parse(frozenAt) + windowMs;
  const checksMax = Math.ceil(windowMs / checkMs) + 1;
  for (let check = 0; check < checksMax; check++) {
    const { terminalIds } = await office.findSilentTerminals({ cardNo, since: frozenAt });
    state.silentTerminals = terminalIds;
    state.collectionChecks = check + 1;
    if (terminalIds.length === 0) return 'all_collected';
    const leftMs = deadline - Date.now();
    if (leftMs <= 0) break;
    await sleep(Math.min(checkMs, leftMs));
  }
  log.warn('offline window passed with terminals still silent', { cardNo, silent: state.silentTerminals });
  return 'window_passed';
}

/** The card's 挂失, when one runs, ends here: from now on this process owns the card. */
async function endLossReport(input: CardReplacementInput, workflowId: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(workflowIds.lostCard(input.cardNo)).signal(cardReplacedSignal, {
      operatorId: input.operatorId,
      replacementWorkflowId: workflowId,
    });
  } catch (error) {
    if (isCancellation(error)) throw error;
    log.info('no loss report running for the card', { cardNo: input.cardNo });
  }
}

/** A text that cannot be sent never undoes the transfer: it is logged and the process ends. */
async function notify(
  workflowId: string,
  cardNo: string,
  moved: { newCardNo: string } & ReplacementBalances,
): Promise<boolean> {
  try {
    return (await sms.sendReplacementNotice({ workflowId, cardNo, ...moved })).sent;
  } catch (error) {
    if (isCancellation(error)) throw error;
    log.warn('replacement notice not sent', { cardNo, error: String(error) });
    return false;
  }
}
