import type { Client } from '@temporalio/client';
import { startCardProcess } from '../card-process.ts';
import type { CardReplacementInput } from '../../activities/card-replacement/types.ts';
import { workflowIds, workflowTypes } from '../../workflows/names.ts';

/**
 * Starts 补卡 under the card's business key. A card is replaced once: asking again, while it waits or after
 * it ended, answers with the same workflow id and `started: false`.
 */
export async function startCardReplacement(
  client: Client,
  taskQueue: string,
  input: CardReplacementInput,
): Promise<{ workflowId: string; started: boolean }> {
  return startCardProcess(client, {
    workflowType: workflowTypes.cardReplacement,
    workflowId: workflowIds.cardReplacement(input.cardNo),
    taskQueue,
    input,
    reuse: 'REJECT_DUPLICATE',
  });
}
