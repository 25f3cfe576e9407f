import type { FastifyInstance } from 'fastify';
import { workflowTypes } from '../../workflows/names.ts';

/** A page of the list is bounded, like every listing of the API. */
const pageMax = 100;
const types = Object.values(workflowTypes);
const statuses = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut', 'ContinuedAsNew'];

/** Visibility query values are quoted strings: a quote or backslash in one is refused by the schema. */
const keyword = { type: 'string', pattern: '^[A-Za-z0-9._:/-]{1,128}$' } as const;

/**
 * 流程: the platform's long-running processes as Temporal's visibility lists them, newest first, each with
 * the link that opens its history in the Temporal Web UI. Filters are exact: a process type, a status, a
 * card number (search attribute CardNo) or a business key (the workflow id).
 */
export async function processRoutes(app: FastifyInstance): Promise<void> {
  app.get<{
    Querystring: {
      _start?: string;
      _end?: string;
      type?: string;
      status?: string;
      cardNo?: string;
      businessKey?: string;
    };
  }>(
    '/api/processes',
    {
      schema: {
        summary:
          'The long-running processes (workflows), newest first, each with a link to its history in the Temporal Web UI',
        tags: ['system'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // A query string is text: the page bounds are numbers by their own pattern.
            _start: { type: 'string', pattern: '^(0|[1-9][0-9]{0,3})$' },
            _end: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
            _sort: { type: 'string' },
            _order: { type: 'string', enum: ['ASC', 'DESC'] },
            type: { type: 'string', enum: types },
            status: { type: 'string', enum: statuses },
            cardNo: keyword,
            businessKey: keyword,
          },
        },
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                workflowId: { type: 'string' },
                runId: { type: 'string' },
                type: { type: 'string' },
                status: { type: 'string' },
                startTime: { type: 'string' },
                closeTime: { type: ['string', 'null'] },
                historyUrl: { type: ['string', 'null'] },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const start = Number(q._start ?? 0);
      const end = Math.min(q._end === undefined ? start + 25 : Number(q._end), start + pageMax);
      const clauses = [
        q.type && `WorkflowType = '${q.type}'`,
        q.status && `ExecutionStatus = '${q.status}'`,
        q.cardNo && `CardNo = '${q.cardNo}'`,
        q.businessKey && `WorkflowId = '${q.businessKey}'`,
      ].filter(Boolean);
      const query = clauses.join(' AND ') || undefined;
      const { client, namespace } = app.temporal;
      const ui = app.config.TEMPORAL_UI_URL?.replace(/\/$/, '');
      const rows = [];
      let index = 0;
      for await (const run of client.workflow.list({ query, pageSize: Math.min(end, 1000) })) {
        if (index++ < start) continue;
        rows.push({
          id: `${run.workflowId}|${run.runId}`,
          workflowId: run.workflowId,
          runId: run.runId,
          type: run.type,
          status: statusName(run.status.name),
          startTime: run.startTime.toISOString(),
          closeTime: run.closeTime?.toISOString() ?? null,
          historyUrl: ui
            ? `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/history`
            : null,
        });
        if (index >= end) break;
      }
      const { count } = await client.workflow.count(query);
      return reply
        .header('x-total-count', String(count))
        .header('access-control-expose-headers', 'X-Total-Count')
        .send(rows);
    },
  );
}

/** Temporal's SDK names statuses in capitals (RUNNING); the visibility query and the console use Running. */
function statusName(name: string): string {
  const named = statuses.find((s) => s.toUpperCase() === name.replace(/_/g, ''));
  return named ?? name;
}
