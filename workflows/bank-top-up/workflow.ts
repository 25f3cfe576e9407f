import {
  ApplicationFailure,
  CancellationScope,
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
import type {
  BankTopUpActivities,
  BankTopUpInput,
  TopUpNotice,
  TopUpRecordStatus,
} from '../../activities/bank-top-up/types.ts';
import { parseTopUpReply } from '../../core/sms/reply.ts';
import { queryNames, signalNames } from '../names.ts';

export interface TopUpReplySignal {
  /** Twilio's MessageSid: a reply delivered twice is taken once. */
  messageSid: string;
  from: string;
  text: string;
}

export type BankTopUpPhase =
  | 'awaiting_reply'
  | 'debiting'
  | 'crediting'
  | 'compensating'
  | 'declined'
  | 'expired'
  | 'completed'
  | 'failed';

export interface BankTopUpState {
  phase: BankTopUpPhase;
  repliesSeen: number;
  debitId?: string;
  transactionId?: string;
}

export interface BankTopUpResult extends BankTopUpState {
  workflowId: string;
  amountFen: number;
  balanceFenAfter?: number;
}

export const topUpReplySignal = defineSignal<[TopUpReplySignal]>(signalNames.topUpReply);
export const topUpStateQuery = defineQuery<BankTopUpState>(queryNames.topUpState);

/** Replies that are neither approval nor refusal before the request is dropped (a limit on the loop). */
export const unclearRepliesMax = 5;

const sms = proxyActivities<BankTopUpActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});
const records = proxyActivities<BankTopUpActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 20 },
});
// Money at the bank: retried until the bank answers (same idempotency key each time), never given up on,
// since giving up could leave a debit without its credit or its refund. Refusals are non-retryable.
const bank = proxyActivities<BankTopUpActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [
      'bank_declined',
      'bank_protocol_error',
      'bank_not_configured',
      'parent_not_bound',
      'refund_refused',
    ],
  },
});
const ledger = proxyActivities<BankTopUpActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 10 },
});

// Steps that end in well under a second run as local activities, inside the workflow task that needs
// them, instead of a trip through the task queue each: the ones in our own PostgreSQL (the code check
// with the approval, the wallet credit, the record's status) and the texts (one Twilio API call, made
// once per idempotency key). Each keeps its idempotency key (workflow id + activity id, the same on every
// retry). The bank stays an activity: it may take seconds, is retried without end, and its refund is the
// compensation, so it runs on its own schedule on whichever worker is free.
const localSms = proxyLocalActivities<BankTopUpActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});
const localRecords = proxyLocalActivities<BankTopUpActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 20 },
});
const localLedger = proxyLocalActivities<BankTopUpActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 10 },
});

/**
 * A top-up waits up to a day for its reply, so some are always running when new code is deployed: those
 * that started before local steps replay on the activities they ran (histories without this patch's
 * marker), and new ones take the local steps.
 */
export const localStepsPatch = 'bank-top-up-local-steps';

/**
 * 网银圈存: texts the parent the amount and a one-time code, waits for `Y <code>` or `N` (a help text for
 * anything else) until the reply window closes, then debits the parent's bank card and credits the
 * student's main wallet. The debit's compensation (a refund at the bank) is recorded as soon as the debit
 * succeeds and runs if the credit cannot be made, so the money is never moved twice or lost.
 */
export async function bankTopUp(input: BankTopUpInput): Promise<BankTopUpResult> {
  const { workflowId } = workflowInfo();
  const state: BankTopUpState = { phase: 'awaiting_reply', repliesSeen: 0 };
  const replies: TopUpReplySignal[] = [];
  const seen = new Set<string>();
  setHandler(topUpReplySignal, (reply) => {
    if (seen.has(reply.messageSid)) return;
    seen.add(reply.messageSid);
    replies.push(reply);
  });
  setHandler(topUpStateQuery, () => state);
  const result = (extra: Partial<BankTopUpResult> = {}): BankTopUpResult => ({
    ...state,
    workflowId,
    amountFen: input.amountFen,
    ...extra,
  });
  const local = patched(localStepsPatch);
  const steps = local
    ? { sms: localSms, records: localRecords, ledger: localLedger }
    : { sms, records, ledger };
  const notify = (notice: TopUpNotice) => notifyBy(steps.sms, notice);
  const finish = async (status: TopUpRecordStatus, detail?: Record<string, string | number>) =>
    steps.records.recordTopUpOutcome({ workflowId, status, detail });
  // The code check; with local steps it also moves the record to `approved`.
  const approve = (code: string) =>
    local ? localRecords.approveTopUp({ workflowId, code }) : records.checkTopUpCode({ workflowId, code });

  try {
    await steps.sms.requestTopUpApproval({ ...input, workflowId });
  } catch (error) {
    // A request that cannot reach the parent lapses at once, so no reply is waited for on its record.
    if (isCancellation(error)) throw error;
    await finish('expired', { reason: 'request_not_sent' });
    throw topUpFailure(workflowId, error);
  }
  const decision = await awaitDecision(input, workflowId, state, replies, approve, notify);
  if (decision !== 'approved') {
    state.phase = decision;
    await notify({
      workflowId,
      cardNo: input.cardNo,
      template: decision === 'declined' ? 'top_up_declined' : 'top_up_expired',
    });
    await finish(decision);
    return result();
  }
  if (!local) await finish('approved');

  const compensations: Array<() => Promise<{ refunded: boolean; transactionId?: string }>> = [];
  let moved: { transactionId: string; balanceFenAfter?: number };
  try {
    state.phase = 'debiting';
    const debit = await bank.debitParentBankCard({
      workflowId,
      cardNo: input.cardNo,
      amountFen: input.amountFen,
    });
    state.debitId = debit.debitId;
    compensations.unshift(() =>
      bank.refundParentBankCard({
        workflowId,
        debitId: debit.debitId,
        amountFen: input.amountFen,
        reason: 'wallet credit failed',
      }),
    );
    state.phase = 'crediting';
    moved = await steps.ledger.creditStudentWallet({
      workflowId,
      cardNo: input.cardNo,
      amountFen: input.amountFen,
    });
  } catch (error) {
    state.phase = 'compensating';
    // Compensation runs even when the workflow itself is being cancelled.
    const creditedAfterAll = await CancellationScope.nonCancellable(async () => {
      let credited: string | undefined;
      for (const compensate of compensations) {
        const outcome = await compensate();
        // The credit had landed after all (its answer was lost): the money is where it should be.
        if (!outcome.refunded && outcome.transactionId) credited = outcome.transactionId;
      }
      if (credited) return credited;
      state.phase = 'failed';
      await notify({
        workflowId,
        cardNo: input.cardNo,
        template: 'top_up_failed',
        reason: failureReason(error),
      });
      if (compensations.length === 0) await finish('bank_declined', { reason: failureReason(error) });
      return undefined;
    });
    if (creditedAfterAll === undefined) {
      if (isCancellation(error)) throw error;
      throw topUpFailure(workflowId, error);
    }
    moved = { transactionId: creditedAfterAll };
  }
  state.transactionId = moved.transactionId;
  state.phase = 'completed';
  // The money has moved: a confirmation that cannot be sent is logged, never a reason to undo anything.
  await notify({
    workflowId,
    cardNo: input.cardNo,
    template: 'top_up_confirmed',
    amountFen: input.amountFen,
    balanceFenAfter: moved.balanceFenAfter,
  });
  await finish('completed', { transactionId: moved.transactionId, debitId: state.debitId ?? '' });
  return result({ balanceFenAfter: moved.balanceFenAfter });
}

/** A text after the request: one Twilio refuses (a number that opted out) is logged and skipped. */
async function notifyBy(texts: typeof sms, notice: TopUpNotice): Promise<void> {
  try {
    await texts.sendTopUpNotice(notice);
  } catch (error) {
    if (isCancellation(error)) throw error;
    log.warn('a top-up notice could not be sent', { template: notice.template, error: String(error) });
  }
}

async function awaitDecision(
  input: BankTopUpInput,
  workflowId: string,
  state: BankTopUpState,
  replies: TopUpReplySignal[],
  approve: (code: string) => Promise<boolean>,
  notify: (notice: TopUpNotice) => Promise<void>,
): Promise<'approved' | 'declined' | 'expired'> {
  // Date.now() in a workflow is the deterministic workflow clock: the window is fixed at the start.
  const deadline = Date.now() + input.replyTimeoutMs;
  let unclear = 0;
  for (;;) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0 || !(await condition(() => replies.length > 0, remainingMs))) return 'expired';
    const reply = replies.shift()!;
    state.repliesSeen++;
    const parsed = parseTopUpReply(reply.text);
    if (parsed.kind === 'decline') return 'declined';
    if (parsed.kind === 'approve' && (await approve(parsed.code))) return 'approved';
    if (++unclear >= unclearRepliesMax) return 'declined';
    await notify({ workflowId, cardNo: input.cardNo, template: 'top_up_help' });
  }
}

/** The workflow's failure, typed by the refusal that caused it (bank_declined, ledger_refused…). */
function topUpFailure(workflowId: string, error: unknown): ApplicationFailure {
  const type = error instanceof ApplicationFailure ? error.type : undefined;
  const cause = (error as { cause?: unknown }).cause;
  const causeType = cause instanceof ApplicationFailure ? cause.type : undefined;
  const message = cause instanceof Error ? cause.message : (error as Error).message;
  return ApplicationFailure.nonRetryable(
    `bank top-up ${workflowId} did not complete: ${message}`,
    causeType ?? type ?? 'top_up_failed',
  );
}

/** The parent-facing reason (Chinese) for a failed top-up. */
function failureReason(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  if (type === 'bank_declined') return '银行拒绝扣款';
  if (type === 'ledger_refused') return '一卡通账户无法入账';
  return '系统处理失败';
}
