import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

/** The search attributes of temporal.yaml that operators find a card's processes by. */
const searchKeys = {
  cardNo: defineSearchAttributeKey('CardNo', SearchAttributeType.KEYWORD),
  schoolId: defineSearchAttributeKey('SchoolId', SearchAttributeType.KEYWORD),
  businessKey: defineSearchAttributeKey('BusinessKey', SearchAttributeType.KEYWORD),
};

/**
 * Starts a card's long-running process under its business key, findable by card number and school.
 * Starting it again while it runs (and, with `reuse: 'REJECT_DUPLICATE'`, after it ended) is a no-op that
 * answers with the same workflow id and `started: false`.
 */
export async function startCardProcess<Input extends { cardNo: string; schoolId: string }>(
  client: Client,
  options: {
    workflowType: string;
    workflowId: string;
    taskQueue: string;
    input: Input;
    reuse: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE';
  },
): Promise<{ workflowId: string; started: boolean }> {
  const { workflowId, input } = options;
  try {
    await client.workflow.start(options.workflowType, {
      workflowId,
      taskQueue: options.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: options.reuse,
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
