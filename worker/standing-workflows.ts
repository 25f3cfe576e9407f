import {
  Client,
  Connection,
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/client';
import type { Logger } from '../core/log.ts';
import { scheduleIds, workflowIds, workflowTypes } from '../workflows/names.ts';

const hourMs = 3_600_000;

/**
 * The district's standing processes, started once by whichever worker comes up first; the business-key
 * id makes every later start a no-op. The blacklist upkeep prunes entries past the offline window (72 h,
 * as for card replacement) and alerts on terminals silent for an hour. The nightly settlement is a Temporal
 * Schedule: at 01:30 China time it starts 日结 of yesterday for every settlement department.
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
    await ensureNightlySettlementSchedule(client, options);
  } finally {
    await connection.close();
  }
}

async function ensureNightlySettlementSchedule(
  client: Client,
  options: { taskQueue: string; log: Logger },
): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: scheduleIds.nightlySettlement,
      spec: { calendars: [{ hour: 1, minute: 30 }], timezone: 'Asia/Shanghai' },
      action: {
        type: 'startWorkflow',
        workflowType: workflowTypes.nightlySettlement,
        workflowId: 'nightly-settlement',
        taskQueue: options.taskQueue,
        args: [{}],
      },
      // A night that was missed (the cluster down) still settles, once, when it comes back.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    options.log.info({ scheduleId: scheduleIds.nightlySettlement }, 'nightly settlement scheduled');
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
}
