import fs from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { startBusinessProcess } from '../../../core/card-process.ts';
import type { DailySettlementInput } from '../../../activities/daily-settlement/types.ts';
import { checkDecision, grantSettlementApproval, type Decision } from '../../../core/settlement/approval.ts';
import { SettlementRefusal } from '../../../core/settlement/statement.ts';
import { signalNames, workflowIds, workflowTypes } from '../../../workflows/names.ts';
import { code as departmentId, code as terminalId, operatorId } from '../cards/schemas.ts';
import { error, errorBody, startedBody } from '../errors.ts';

const day = { type: 'string', format: 'date' } as const;
const tags = ['settlement'];
const statementParams = {
  type: 'object',
  required: ['businessDate', 'departmentId'],
  properties: { businessDate: day, departmentId },
} as const;
type StatementParams = { Params: { businessDate: string; departmentId: string } };
const statementIdOf = (p: StatementParams['Params']) =>
  workflowIds.dailySettlement(p.businessDate, p.departmentId);

/** The one switch from settlement refusals to HTTP statuses. */
function sendRefusal(reply: FastifyReply, refusal: SettlementRefusal): FastifyReply {
  const status = {
    department_not_found: 404,
    statement_not_found: 404,
    statement_not_awaiting_approval: 409,
    preparer_cannot_approve: 403,
    not_permitted: 403,
  }[refusal.code];
  return reply.status(status).send(error(refusal.code, refusal.message));
}

/**
 * 结算中心: the nightly statements per settlement department, started by the schedule or by hand, finance's
 * approval (a signal to the statement's process, checked here first so the answer says what is wrong),
 * the payout file, the approvers' grants, and the POS terminals' own day totals the statements check.
 */
export async function settlementRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: { operatorId: string; departmentId?: string | null; grantedBy: string } }>(
    '/api/finance/grants',
    {
      schema: {
        summary:
          'Let an operator approve settlements of a department and those under it (all, with no department)',
        tags,
        body: {
          type: 'object',
          required: ['operatorId', 'grantedBy'],
          additionalProperties: false,
          properties: {
            operatorId,
            departmentId: { anyOf: [departmentId, { type: 'null' }] },
            grantedBy: operatorId,
          },
        },
        response: { 200: { type: 'object', properties: { granted: { type: 'boolean' } } }, 404: errorBody },
      },
    },
    async (request, reply) => {
      try {
        return await grantSettlementApproval(app.db, {
          operatorId: request.body.operatorId,
          departmentId: request.body.departmentId ?? null,
          grantedBy: request.body.grantedBy,
        });
      } catch (e) {
        if (e instanceof SettlementRefusal) return sendRefusal(reply, e);
        throw e;
      }
    },
  );

  app.put<{
    Params: { terminalId: string; businessDate: string };
    Body: { purchases: number; amountFen: number };
  }>(
    '/api/terminals/:terminalId/day-totals/:businessDate',
    {
      schema: {
        summary:
          "A POS terminal's own count and total of a business day (终端扎帐), which the daily statement checks",
        tags: ['terminals'],
        params: {
          type: 'object',
          required: ['terminalId', 'businessDate'],
          properties: { terminalId, businessDate: day },
        },
        body: {
          type: 'object',
          required: ['purchases', 'amountFen'],
          additionalProperties: false,
          properties: {
            purchases: { type: 'integer', minimum: 0, maximum: 1_000_000 },
            amountFen: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              terminalId: { type: 'string' },
              businessDate: { type: 'string' },
              replayed: { type: 'boolean' },
            },
          },
          404: errorBody,
          409: errorBody,
        },
      },
    },
    async (request, reply) => {
      const { terminalId: id, businessDate } = request.params;
      const { rows: known } = await app.db.query(`select 1 from terminals where terminal_id = $1`, [id]);
      if (!known[0]) return reply.status(404).send(error('terminal_not_found', `no terminal ${id}`));
      const { rows } = await app.db.query<{ purchases: number; amount_fen: bigint; inserted: boolean }>(
        `with put as (
           insert into terminal_day_totals (terminal_id, business_date, purchases, amount_fen) values ($1, $2, $3, $4)
           on conflict (terminal_id, business_date) do nothing returning purchases, amount_fen, true as inserted
         )
         select * from put
         union all
         select purchases, amount_fen, false from terminal_day_totals
          where terminal_id = $1 and business_date = $2 and not exists (select 1 from put)`,
        [id, businessDate, request.body.purchases, request.body.amountFen],
      );
      const stored = rows[0]!;
      if (stored.purchases !== request.body.purchases || Number(stored.amount_fen) !== request.body.amountFen)
        return reply
          .status(409)
          .send(
            error(
              'exists_with_different_content',
              `terminal ${id} already reported ${stored.purchases} purchases and ${stored.amount_fen} fen for ${businessDate}`,
            ),
          );
      return { terminalId: id, businessDate, replayed: !stored.inserted };
    },
  );

  app.post<{
    Body: { businessDate: string; departmentId: string; preparedBy: string; refreshReports?: boolean };
  }>(
    '/api/settlements',
    {
      schema: {
        summary:
          'Prepare the daily settlement (日结) of one department by hand; the nightly schedule does it for all',
        tags,
        body: {
          type: 'object',
          required: ['businessDate', 'departmentId', 'preparedBy'],
          additionalProperties: false,
          properties: {
            businessDate: day,
            departmentId,
            preparedBy: operatorId,
            refreshReports: { type: 'boolean' },
          },
        },
        response: { 200: startedBody, 202: startedBody, 404: errorBody },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { rows } = await app.db.query(`select 1 from settlement_departments where department_id = $1`, [
        b.departmentId,
      ]);
      if (!rows[0])
        return reply
          .status(404)
          .send(error('department_not_found', `no settlement department ${b.departmentId}`));
      const input: DailySettlementInput = {
        businessDate: b.businessDate,
        departmentId: b.departmentId,
        preparedBy: b.preparedBy,
        refreshReports: b.refreshReports,
      };
      const answer = await startBusinessProcess(app.temporal.client, {
        workflowType: workflowTypes.dailySettlement,
        workflowId: workflowIds.dailySettlement(b.businessDate, b.departmentId),
        taskQueue: app.temporal.taskQueue,
        input,
        // Again after a rejection (a new revision); while one waits, the same one answers.
        reuse: 'ALLOW_DUPLICATE',
      });
      return reply.status(answer.started ? 202 : 200).send(answer);
    },
  );

  app.get<StatementParams>(
    '/api/settlements/:businessDate/:departmentId',
    {
      schema: {
        summary: 'A daily statement: its state, each merchant line, the flags finance should look at',
        tags,
        params: statementParams,
      },
    },
    async (request, reply) => {
      const statementId = statementIdOf(request.params);
      const { rows } = await app.db.query(
        `select s.statement_id as "statementId", s.business_date::text as "businessDate", s.department_id as "departmentId",
                s.revision, s.state, s.prepared_by as "preparedBy", s.prepared_at as "preparedAt",
                s.total_fen as "totalFen", s.decided_by as "decidedBy", s.decided_at as "decidedAt",
                s.decision_reason as "decisionReason", s.payout_sha256 as "payoutSha256", s.settled_at as "settledAt",
                s.reports,
                coalesce((select json_agg(json_build_object('merchantId', l.merchant_id, 'purchases', l.purchases,
                   'purchaseFen', l.purchase_fen, 'offlinePurchases', l.offline_purchases, 'offlineFen', l.offline_fen,
                   'refundFen', l.refund_fen, 'reversalFen', l.reversal_fen, 'netFen', l.net_fen,
                   'payableFen', l.payable_fen, 'transactionId', l.transaction_id) order by l.merchant_id)
                   from settlement_lines l where l.statement_id = s.statement_id), '[]') as lines,
                coalesce((select json_agg(json_build_object('kind', f.kind, 'merchantId', f.merchant_id,
                   'terminalId', f.terminal_id, 'detail', f.detail) order by f.flag_id)
                   from settlement_flags f where f.statement_id = s.statement_id), '[]') as flags
           from settlement_statements s where s.statement_id = $1`,
        [statementId],
      );
      if (!rows[0])
        return reply.status(404).send(error('statement_not_found', `no statement ${statementId}`));
      return JSON.parse(JSON.stringify(rows[0], (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
    },
  );

  app.post<StatementParams & { Body: { decision: Decision; operatorId: string; reason?: string } }>(
    '/api/settlements/:businessDate/:departmentId/decisions',
    {
      schema: {
        summary:
          "Finance's approval or rejection of a daily statement: the approver needs the permission and must not be its preparer",
        tags,
        params: statementParams,
        body: {
          type: 'object',
          required: ['decision', 'operatorId'],
          additionalProperties: false,
          properties: {
            decision: { type: 'string', enum: ['approve', 'reject'] },
            operatorId,
            reason: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
        response: {
          202: {
            type: 'object',
            properties: { statementId: { type: 'string' }, signalled: { type: 'boolean' } },
          },
          400: errorBody,
          403: errorBody,
          404: errorBody,
          409: errorBody,
        },
      },
    },
    async (request, reply) => {
      const statementId = statementIdOf(request.params);
      const b = request.body;
      if (b.decision === 'reject' && !b.reason)
        return reply
          .status(400)
          .send(error('invalid_input', 'body/reason is required to reject a statement'));
      try {
        await checkDecision(app.db, { statementId, operatorId: b.operatorId, decision: b.decision });
      } catch (e) {
        if (e instanceof SettlementRefusal) return sendRefusal(reply, e);
        throw e;
      }
      await app.temporal.client.workflow.getHandle(statementId).signal(signalNames.settlementDecision, b);
      return reply.status(202).send({ statementId, signalled: true });
    },
  );

  app.get<StatementParams>(
    '/api/settlements/:businessDate/:departmentId/payout-file',
    {
      schema: {
        summary: 'The payout file (代发文件) of a settled statement, as sent to the bank',
        tags,
        params: statementParams,
      },
    },
    async (request, reply) => {
      const statementId = statementIdOf(request.params);
      const { rows } = await app.db.query<{ payout_file: string | null }>(
        `select payout_file from settlement_statements where statement_id = $1`,
        [statementId],
      );
      const file = rows[0]?.payout_file;
      if (!file || !fs.existsSync(file))
        return reply
          .status(404)
          .send(error('payout_file_not_found', `statement ${statementId} has no payout file yet`));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="settlement-${request.params.businessDate}-${request.params.departmentId}.csv"`,
        )
        .send(fs.readFileSync(file));
    },
  );
}
