// The API's one error format, as routes send it and as their response schemas declare it.

export const error = (code: string, message: string) => ({ error: { code, message } });

export const errorBody = {
  type: 'object',
  properties: {
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

/** The answer to starting a process under its business key: started now, or the same one already there. */
export const startedBody = {
  type: 'object',
  properties: { workflowId: { type: 'string' }, started: { type: 'boolean' } },
} as const;
