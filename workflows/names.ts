// Names both sides of Temporal share: workflow types, and later signals, queries and updates.
// The task queue and namespace come from temporal.yaml (read by the client and the worker).

export const workflowTypes = {
  selfCheck: 'selfCheck',
} as const;

/** Workflow ids are business keys, so starting the same process twice is a no-op. */
export const workflowIds = {
  selfCheck: (checkId: string) => `self-check/${checkId}`,
} as const;
