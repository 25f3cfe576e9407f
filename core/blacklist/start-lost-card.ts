import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { startCardProcess } from '../card-process.ts';
import type { LostCardInput } from '../../activities/lost-card/types.ts';
import type { CardReplacedSignal, UnfreezeCardSignal } from '../../workflows/lost-card/workflow.ts';
import { signalNames, workflowIds, workflowTypes } from '../../workflows/names.ts';

/**
 * Starts 挂失 under the card's business key. A second report while one runs is a no-op answering with the
 * running one (`started: false`); after 解挂 ended it, a new loss starts a new run under the same id.
 */
export async function startLostCard(
  client: Client,
  taskQueue: string,
  input: LostCardInput,
): Promise<{ workflowId: string; started: boolean }> {
  return startCardProcess(client, {
    workflowType: workflowTypes.lostCard,
    workflowId: workflowIds.lostCard(input.cardNo),
    taskQueue,
    input,
    reuse: 'ALLOW_DUPLICATE',
  });
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
