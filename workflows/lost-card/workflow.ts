import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LostCardActivities, LostCardInput } from '../../activities/lost-card/types.ts';
import { queryNames, signalNames } from '../names.ts';
import { smsActivityOptions } from '../activity-options.ts';

export interface UnfreezeCardSignal {
  operatorId: string;
  reason: string;
}

export interface CardReplacedSignal {
  operatorId: string;
  /** The replacement process that took over (补卡), when it is one. */
  replacementWorkflowId?: string;
  newCardNo?: string;
}

export type LostCardPhase = 'freezing' | 'frozen' | 'unfreezing' | 'unfrozen' | 'replaced';

export interface LostCardState {
  phase: LostCardPhase;
  alreadyFrozen?: boolean;
  blacklistVersion?: number;
  parentNotified?: boolean;
  unfreeze?: UnfreezeCardSignal;
  replacement?: CardReplacedSignal;
  /** The version that took the card off the blacklist after 解挂. */
  withdrawnVersion?: number;
}

export interface LostCardResult extends LostCardState {
  workflowId: string;
  cardNo: string;
}

export const unfreezeCardSignal = defineSignal<[UnfreezeCardSignal]>(signalNames.unfreezeCard);
export const cardReplacedSignal = defineSignal<[CardReplacedSignal]>(signalNames.cardReplaced);
export const lostCardStateQuery = defineQuery<LostCardState>(queryNames.lostCardState);

// The card office and the blacklist are our own database: retried briefly; refusals are final.
const cardOffice = proxyActivities<LostCardActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    maximumInterval: '10 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: ['card_not_found', 'card_is_cancelled', 'card_is_not_frozen'],
  },
});
// The freeze and the priority listing are the urgent part of 挂失 (a lost card must stop paying at once) and
// end in milliseconds in our own PostgreSQL: they run as local activities inside the first workflow task
// instead of waiting in the task queue behind the district's other processes. Same keys, same retries.
const localCardOffice = proxyLocalActivities<LostCardActivities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200 milliseconds',
    maximumInterval: '10 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: ['card_not_found', 'card_is_cancelled', 'card_is_not_frozen'],
  },
});
/** Runs started before this change replay on the activities they began with. */
export const freezeLocalStepsPatch = 'lost-card-freeze-as-local-steps';
const sms = proxyActivities<LostCardActivities>(smsActivityOptions);

/**
 * 挂失: freezes the card at once, publishes a priority blacklist entry, texts the parent, then waits for
 * 解挂 (unfreeze: the card back to active and off the blacklist) or for a replacement to take over.
 */
export async function lostCard(input: LostCardInput): Promise<LostCardResult> {
  const { workflowId } = workflowInfo();
  const state: LostCardState = { phase: 'freezing' };
  setHandler(unfreezeCardSignal, (signal) => {
    if (!state.unfreeze && !state.replacement) state.unfreeze = signal;
  });
  setHandler(cardReplacedSignal, (signal) => {
    if (!state.unfreeze && !state.replacement) state.replacement = signal;
  });
  setHandler(lostCardStateQuery, () => state);

  const office = patched(freezeLocalStepsPatch) ? localCardOffice : cardOffice;
  const frozen = await office.freezeLostCard({
    cardNo: input.cardNo,
    operatorId: input.operatorId,
    reason: `${input.channel}: ${input.reason}`,
  });
  state.alreadyFrozen = frozen.alreadyFrozen;
  const published = await office.publishPriorityBlacklistEntry({
    cardNo: input.cardNo,
    reason: `lost (${input.channel})`,
  });
  state.blacklistVersion = published.version;
  state.phase = 'frozen';
  state.parentNotified = await notify(workflowId, input.cardNo, 'card_frozen');

  await condition(() => state.unfreeze !== undefined || state.replacement !== undefined);
  if (state.replacement) {
    // The card stays frozen and listed: the replacement process closes it.
    state.phase = 'replaced';
    return { ...state, workflowId, cardNo: input.cardNo };
  }

  state.phase = 'unfreezing';
  const unfreeze = state.unfreeze!;
  try {
    await office.unfreezeFoundCard({ cardNo: input.cardNo, ...unfreeze });
  } catch (error) {
    // Unfrozen at the counter meanwhile: the card is already where 解挂 wants it.
    // A local activity's refusal can come unwrapped; a regular one's comes inside an ActivityFailure.
    const cause = error instanceof ActivityFailure ? error.cause : error;
    const unfrozenAlready = cause instanceof ApplicationFailure && cause.type === 'card_is_not_frozen';
    if (!unfrozenAlready) throw error;
    log.info('card was unfrozen outside this process', { cardNo: input.cardNo });
  }
  const withdrawn = await office.withdrawBlacklistEntry({
    cardNo: input.cardNo,
    reason: `unfrozen by ${unfreeze.operatorId}: ${unfreeze.reason}`,
  });
  state.withdrawnVersion = withdrawn.version;
  state.phase = 'unfrozen';
  await notify(workflowId, input.cardNo, 'card_unfrozen');
  return { ...state, workflowId, cardNo: input.cardNo };
}

/** A text that cannot be sent never undoes the freeze: it is logged and the process goes on. */
async function notify(
  workflowId: string,
  cardNo: string,
  template: 'card_frozen' | 'card_unfrozen',
): Promise<boolean> {
  try {
    return (await sms.sendLostCardNotice({ workflowId, cardNo, template })).sent;
  } catch (error) {
    if (isCancellation(error)) throw error;
    log.warn('lost-card notice not sent', { cardNo, template, error: String(error) });
    return false;
  }
}
