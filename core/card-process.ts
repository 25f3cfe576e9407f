import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

/** The search attributes of temporal.yaml that operators find a process by. */
const searchKeys = {
  cardNo: defineSearchAttributeKey('CardNo', SearchAttributeType.KEYWORD),
  schoolId: defineSearchAttributeKey('SchoolId', SearchAttributeType.KEYWORD),
  businessKey: defineSearchAttributeKey('BusinessKey', SearchAttributeType.KEYWORD),
};

type Reuse = 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE';

/**
 * Starts a long-running process under its business key (the workflow id), findable by that key and, when
 * given, by card number and school. Starting it again while it runs (and, with `reuse: 'REJECT_DUPLICATE'`,
 * after it ended) is a no-op that answers with the same workflow id and `started: false`.
 */
export async function startBusinessProcess<Input>(
  client: Client,
  options: {
    workflowType: string;
    workflowId: string;
    taskQueue: string;
    input: Input;
    reuse: Reuse;
    findBy?: { cardNo: string; schoolId: string };
  },
): Promise<{ workflowId: string; started: boolean }> {
  const { workflowId, findBy } = options;
  try {
    await client.workflow.start(options.workflowType, {
      workflowId,
      taskQueue: options.taskQueue,
      args: [options.input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: options.reuse,
      typedSearchAttributes: new TypedSearchAttributes([
        ...(findBy
          ? [
              { key: searchKeys.cardNo, value: findBy.cardNo },
              { key: searchKeys.schoolId, value: findBy.schoolId },
            ]
          : []),
        { key: searchKeys.businessKey, value: workflowId },
      ]),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw error;
  }
  return { workflowId, started: true };
}

/** A card's process (挂失, 补卡, 网银圈存): findable by its card number and school as well. */
export async function startCardProcess<Input extends { cardNo: string; schoolId: string }>(
  client: Client,
  options: { workflowType: string; workflowId: string; taskQueue: string; input: Input; reuse: Reuse },
): Promise<{ workflowId: string; started: boolean }> {
  return startBusinessProcess(client, {
    ...options,
    findBy: { cardNo: options.input.cardNo, schoolId: options.input.schoolId },
  });
}
