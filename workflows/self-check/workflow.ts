import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type {
  ComponentWrite,
  SelfCheckActivities,
  SelfCheckInput,
} from '../../activities/self-check/types.ts';

const { recordSelfCheckInPostgres, recordSelfCheckInWarehouse } = proxyActivities<SelfCheckActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 10 },
});

export interface SelfCheckResult {
  checkId: string;
  workflowId: string;
  writes: ComponentWrite[];
}

/**
 * Proves the wiring of the whole system: the worker runs a workflow on the Temporal server, whose
 * activities write the book of record (PostgreSQL) and the warehouse (ClickHouse).
 */
export async function selfCheck(input: SelfCheckInput): Promise<SelfCheckResult> {
  const postgres = await recordSelfCheckInPostgres(input);
  const warehouse = await recordSelfCheckInWarehouse(input);
  return { checkId: input.checkId, workflowId: workflowInfo().workflowId, writes: [postgres, warehouse] };
}
