import type { FastifyInstance } from 'fastify';
import {
  createBatchStep,
  createCampusStep,
  createDepartmentStep,
  graduateBatchStep,
  openSchoolStep,
  previewGraduation,
  upsertCategoryStep,
  upsertIdentityStep,
  type ParameterGroup,
} from '../../../core/cards/organisation.ts';
import { jsonSafe } from '../../../core/cards/office-command.ts';
import type { Algorithm } from '../../../core/keys/cipher.ts';
import { sendRefusal } from './index.ts';
import {
  batchCode,
  code,
  fenNumber,
  gender,
  isoDate,
  okResponse,
  personName,
  personNo,
  writeBody,
} from './schemas.ts';

type Body<T> = { Body: T & { requestId: string; operatorId: string } };
const tags = ['card office'];
const name = { type: 'string', minLength: 1, maxLength: 100 } as const;

export async function organisationRoutes(app: FastifyInstance): Promise<void> {
  app.post<
    Body<{
      schoolId: string;
      name: string;
      district: string;
      kind: string;
      algorithm?: Algorithm;
      administrator: { staffNo: string; name: string; gender: 'F' | 'M' | 'U' };
    }>
  >(
    '/api/card-office/schools',
    {
      schema: {
        summary: 'The bureau opens a school: accounting unit, keys, first administrator (开通学校)',
        tags,
        body: writeBody(
          {
            schoolId: code,
            name,
            district: name,
            kind: { type: 'string', enum: ['primary', 'middle', 'high', 'nine_year', 'kindergarten'] },
            algorithm: { type: 'string', enum: ['sm4', '3des'] },
            administrator: {
              type: 'object',
              additionalProperties: false,
              required: ['staffNo', 'name', 'gender'],
              properties: { staffNo: personNo, name: personName, gender },
            },
          },
          ['schoolId', 'name', 'district', 'kind', 'administrator'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `open-school:${requestId}`,
        kind: 'open_school',
        operatorId,
        content: input,
        run: (ctx) => openSchoolStep(ctx, app.kek, { ...input, algorithm: input.algorithm ?? 'sm4' }),
      });
    },
  );

  app.post<Body<{ campusId: string; schoolId: string; name: string }>>(
    '/api/card-office/campuses',
    {
      schema: {
        summary: 'A campus (校区) of a school',
        tags,
        body: writeBody({ campusId: code, schoolId: code, name }, ['campusId', 'schoolId', 'name']),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `campus:${requestId}`,
        kind: 'create_campus',
        operatorId,
        content: input,
        run: (ctx) => createCampusStep(ctx, input),
      });
    },
  );

  app.post<
    Body<{
      departmentId: string;
      schoolId: string;
      name: string;
      parentDepartmentId?: string;
      campusId?: string;
    }>
  >(
    '/api/card-office/departments',
    {
      schema: {
        summary: 'A cardholder department (客户部门), at any depth under another',
        tags,
        body: writeBody(
          { departmentId: code, schoolId: code, name, parentDepartmentId: code, campusId: code },
          ['departmentId', 'schoolId', 'name'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `department:${requestId}`,
        kind: 'create_department',
        operatorId,
        content: input,
        run: (ctx) => createDepartmentStep(ctx, input),
      });
    },
  );

  app.post<
    Body<{
      identityCode: string;
      kind: 'student' | 'staff' | 'temporary';
      name: string;
      parameterGroup: ParameterGroup;
    }>
  >(
    '/api/card-office/identities',
    {
      schema: {
        summary: 'An identity (身份) with its parameter group; creates or replaces',
        tags,
        body: writeBody(
          {
            identityCode: { type: 'string', pattern: '^[a-z0-9_]{1,32}$' },
            kind: { type: 'string', enum: ['student', 'staff', 'temporary'] },
            name: personName,
            parameterGroup: {
              type: 'object',
              additionalProperties: false,
              properties: {
                defaultCategoryId: { type: 'integer', minimum: 1, maximum: 120 },
                validityYears: { type: 'integer', minimum: 1, maximum: 20 },
                depositFen: fenNumber,
              },
            },
          },
          ['identityCode', 'kind', 'name', 'parameterGroup'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `identity:${requestId}`,
        kind: 'upsert_identity',
        operatorId,
        content: input,
        run: (ctx) => upsertIdentityStep(ctx, input),
      });
    },
  );

  app.post<
    Body<{
      categoryId: number;
      name: string;
      subsidyAmountFen?: number;
      perTxLimitFen?: number;
      dailyLimitFen?: number;
      barredTerminalIds?: string[];
    }>
  >(
    '/api/card-office/categories',
    {
      schema: {
        summary: 'A card category (卡类别, ids 1–120) with subsidy, limits and barred terminals',
        tags,
        body: writeBody(
          {
            categoryId: { type: 'integer', minimum: 1, maximum: 120 },
            name: personName,
            subsidyAmountFen: fenNumber,
            perTxLimitFen: { ...fenNumber, minimum: 1 },
            dailyLimitFen: { ...fenNumber, minimum: 1 },
            barredTerminalIds: { type: 'array', maxItems: 1000, items: code },
          },
          ['categoryId', 'name'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `category:${requestId}`,
        kind: 'upsert_category',
        operatorId,
        content: input,
        run: (ctx) => upsertCategoryStep(ctx, input),
      });
    },
  );

  app.post<
    Body<{
      schoolId: string;
      batchCode: string;
      name: string;
      kind: 'graduation' | 'group';
      graduatesOn?: string;
    }>
  >(
    '/api/card-office/batches',
    {
      schema: {
        summary: 'A batch (批次): a graduating year or a group',
        tags,
        body: writeBody(
          {
            schoolId: code,
            batchCode,
            name,
            kind: { type: 'string', enum: ['graduation', 'group'] },
            graduatesOn: isoDate,
          },
          ['schoolId', 'batchCode', 'name', 'kind'],
        ),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `batch:${requestId}`,
        kind: 'create_batch',
        operatorId,
        content: input,
        run: (ctx) => createBatchStep(ctx, input),
      });
    },
  );

  app.get<{ Params: { schoolId: string; batchCode: string } }>(
    '/api/card-office/schools/:schoolId/batches/:batchCode/graduation',
    {
      schema: {
        summary: 'Preview of graduating a batch: cards to cancel, money to pay out',
        tags,
        params: { type: 'object', properties: { schoolId: code, batchCode } },
      },
    },
    async (request, reply) => {
      try {
        const preview = await previewGraduation(app.db, request.params.schoolId, request.params.batchCode);
        return reply.send(JSON.parse(JSON.stringify(preview, jsonSafe)));
      } catch (error) {
        return sendRefusal(reply, error);
      }
    },
  );

  app.post<Body<{ schoolId: string; batchCode: string }>>(
    '/api/card-office/graduations',
    {
      schema: {
        summary: 'Graduate a batch: cancel every card and pay every holder out, in one step (毕业)',
        tags,
        body: writeBody({ schoolId: code, batchCode }, ['schoolId', 'batchCode']),
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId, operatorId, ...input } = request.body;
      return app.officeStep(reply, {
        requestKey: `graduation:${requestId}`,
        kind: 'graduate_batch',
        operatorId,
        content: input,
        run: (ctx) => graduateBatchStep(ctx, { ...input, at: new Date() }),
      });
    },
  );
}
