import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { LostCardInput } from '../../activities/lost-card/types.ts';
import type { CardReplacedSignal, UnfreezeCardSignal } from '../../workflows/lost-card/workflow.ts';
import { signalNames, workflowIds, workflowTypes } from '../../workflows/names.ts';

const searchKeys = {
  cardNo: defineSearchAttributeKey('CardNo', SearchAttributeType.KEYWORD),
  schoolId: defineSearchAttributeKey('SchoolId', SearchAttributeType.KEYWORD),
  businessKey: defineSearchAttributeKey('BusinessKey', SearchAttributeType.KEYWORD),
};

/**
 * Starts 挂失 under the card's business key. A second report while one runs is a no-op answering with the
 * running one (`started: false`); after 解挂 ended it, a new loss starts a new run under the same id.
 */
export async function startLostCard(
  client: Client,
  taskQueue: string,
  input: LostCardInput,
): Promise<{ workflowId: string; started: boolean }> {
  const workflowId = workflowIds.lostCard(input.cardNo);
  try {
    await client.workflow.start(workflowTypes.lostCard, {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: new TypedSearchAttributes([
        { key: searchKeys.cardNo, value: input.cardNo },
        { key: searchKeys.schoolId, value: input.schoolId },
        { key: searchKeys.businessKey, value: workflowId },
      ]),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw error;
  }
  return { workflowId, started: true };
}

/** Signals the running 挂失 of a card; `false` when none runs (nothing to unfreeze or replace). */
export async function signalLostCard(
  client: Client,
  cardNo: string,
  signal:
    | { name: 'unfreezeCard'; payload: UnfreezeCardSignal }
    | { name: 'cardReplaced'; payload: CardReplacedSignal },
): Promise<boolean> {
  const handle = client.workflow.getHandle(workflowIds.lostCard(cardNo));
  try {
    const described = await handle.describe();
    if (described.status.name !== 'RUNNING') return false;
    await handle.signal(signalNames[signal.name], signal.payload);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
