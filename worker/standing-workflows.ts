import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Logger } from '../core/log.ts';
import { workflowIds, workflowTypes } from '../workflows/names.ts';

const hourMs = 3_600_000;

/**
 * The district's standing processes, started once by whichever worker comes up first; the business-key
 * id makes every later start a no-op. The blacklist upkeep prunes entries past the offline window (72 h,
 * as for card replacement) and alerts on terminals silent for an hour.
 */
export async function ensureStandingWorkflows(options: {
  address: string;
  namespace: string;
  taskQueue: string;
  log: Logger;
}): Promise<void> {
  const connection = await Connection.connect({ address: options.address });
  try {
    const client = new Client({ connection, namespace: options.namespace });
    const workflowId = workflowIds.blacklistUpkeep('district');
    try {
      await client.workflow.start(workflowTypes.blacklistUpkeep, {
        workflowId,
        taskQueue: options.taskQueue,
        args: [{ offlineWindowMs: 72 * hourMs, confirmWithinMs: hourMs, intervalMs: hourMs / 12 }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        searchAttributes: { BusinessKey: [workflowId] },
      });
      options.log.info({ workflowId }, 'blacklist upkeep running');
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  } finally {
    await connection.close();
  }
}
