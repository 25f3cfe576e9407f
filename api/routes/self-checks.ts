import type { FastifyInstance } from 'fastify';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { workflowIds, workflowTypes } from '../../workflows/names.ts';
import type { SelfCheckResult } from '../../workflows/self-check/workflow.ts';

const selfCheckResultSchema = {
  type: 'object',
  required: ['checkId', 'workflowId', 'writes'],
  properties: {
    checkId: { type: 'string' },
    workflowId: { type: 'string' },
    writes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          component: { type: 'string' },
          inserted: { type: 'boolean' },
          serverVersion: { type: 'string' },
        },
      },
    },
  },
} as const;

/**
 * The self-check runs one workflow through every component. The check id is the idempotency key and the
 * workflow id: asking twice with the same id returns the first run's result.
 */
export async function selfCheckRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: { checkId: string } }>(
    '/api/self-checks',
    {
      schema: {
        summary:
          'Run the self-check workflow (PostgreSQL, Temporal, worker, warehouse) and wait for its result',
        tags: ['system'],
        body: {
          type: 'object',
          required: ['checkId'],
          additionalProperties: false,
          properties: { checkId: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,100}$' } },
        },
        response: { 200: selfCheckResultSchema, '4xx': { $ref: 'Error#' } },
      },
    },
    async (request) => {
      const { checkId } = request.body;
      const workflowId = workflowIds.selfCheck(checkId);
      const { client, taskQueue } = app.temporal;
      try {
        await client.workflow.start(workflowTypes.selfCheck, {
          workflowId,
          taskQueue,
          args: [{ checkId, requestedAt: new Date().toISOString() }],
          searchAttributes: { BusinessKey: [workflowId] },
          // A finished check is not run again under its id: the caller gets the first run's result.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          workflowExecutionTimeout: '5 minutes',
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
      return (await client.workflow.getHandle(workflowId).result()) as SelfCheckResult;
    },
  );

  app.get(
    '/api/self-checks',
    {
      schema: {
        summary: 'The latest self-checks recorded in PostgreSQL',
        tags: ['system'],
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                startedAt: { type: 'string' },
                recordedAt: { type: 'string' },
              },
            },
          },
        },
      },
    },
    async (_request, reply) => {
      const { rows } = await app.db.query<{ id: string; startedAt: Date; recordedAt: Date }>(
        `select check_id as id, started_at as "startedAt", recorded_at as "recordedAt"
           from system_self_checks order by recorded_at desc limit 20`,
      );
      return reply.header('X-Total-Count', rows.length).send(
        rows.map((row) => ({
          ...row,
          startedAt: row.startedAt.toISOString(),
          recordedAt: row.recordedAt.toISOString(),
        })),
      );
    },
  );
}
