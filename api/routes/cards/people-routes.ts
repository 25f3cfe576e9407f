import type { FastifyInstance } from 'fastify';
import { applyImport, dryRunImport, ImportRefused } from '../../../core/people/import.ts';
import { batchIssueCards, exportPeople, type PeopleFilter } from '../../../core/people/export.ts';
import { sendRefusal } from './index.ts';
import { batchCode, code, isoDate, okResponse, operatorId, requestId } from './schemas.ts';

const tags = ['card office'];
const base64Max = 14_000_000;
const importFields = {
  schoolId: code,
  format: { type: 'string', enum: ['csv', 'xlsx'] },
  fileBase64: { type: 'string', minLength: 1, maxLength: base64Max },
  photosZipBase64: { type: 'string', minLength: 1, maxLength: base64Max },
} as const;
const filterFields = {
  schoolId: code,
  batchCode,
  departmentId: code,
  identityCode: { type: 'string', pattern: '^[a-z0-9_]{1,32}$' },
};

type ImportBody = { schoolId: string; format: 'csv' | 'xlsx'; fileBase64: string; photosZipBase64?: string };
const decode = (b: ImportBody) => ({
  schoolId: b.schoolId,
  format: b.format,
  file: Buffer.from(b.fileBase64, 'base64'),
  photosZip: b.photosZipBase64 ? Buffer.from(b.photosZipBase64, 'base64') : undefined,
});

/** 批量数据管理: import (dry run, then all or nothing), export, and batch card issue. */
export async function peopleRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: ImportBody }>(
    '/api/card-office/imports/dry-run',
    {
      schema: {
        summary:
          'Check a people file (CSV/XLSX) and photo zip: every bad row with its column and reason; changes nothing',
        tags,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['schoolId', 'format', 'fileBase64'],
          properties: importFields,
        },
      },
    },
    async (request, reply) => {
      try {
        return reply.send(await dryRunImport(app.db, decode(request.body)));
      } catch (error) {
        return sendRefusal(reply, error);
      }
    },
  );

  app.post<{ Body: ImportBody & { requestId: string; operatorId: string } }>(
    '/api/card-office/imports',
    {
      schema: {
        summary: 'Import people: all rows or none; a file with problems is refused with the full report',
        tags,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['requestId', 'operatorId', 'schoolId', 'format', 'fileBase64'],
          properties: { requestId, operatorId, ...importFields },
        },
      },
    },
    async (request, reply) => {
      const progress: unknown[] = [];
      try {
        const answer = await applyImport(
          app.db,
          { ...decode(request.body), requestId: request.body.requestId, operatorId: request.body.operatorId },
          (p) => progress.push(p),
        );
        if (answer.replayed) reply.header('Idempotent-Replayed', 'true');
        return reply.send({ outcome: 'ok', ...answer.response, progress, replayed: answer.replayed });
      } catch (error) {
        if (error instanceof ImportRefused)
          return reply
            .status(400)
            .send({ error: { code: error.code, message: error.message }, report: error.report });
        return sendRefusal(reply, error);
      }
    },
  );

  app.get<{
    Params: { schoolId: string; format: 'csv' | 'xlsx' };
    Querystring: Omit<PeopleFilter, 'schoolId'>;
  }>(
    '/api/card-office/schools/:schoolId/people.:format',
    {
      schema: {
        summary: 'Export people (same columns as the import) as CSV or XLSX',
        tags,
        params: {
          type: 'object',
          properties: { schoolId: code, format: { type: 'string', enum: ['csv', 'xlsx'] } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { batchCode, departmentId: code, identityCode: filterFields.identityCode },
        },
      },
    },
    async (request, reply) => {
      try {
        const { file } = await exportPeople(
          app.db,
          { ...request.query, schoolId: request.params.schoolId },
          request.params.format,
        );
        return reply
          .type(
            request.params.format === 'csv'
              ? 'text/csv; charset=utf-8'
              : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          )
          .header(
            'Content-Disposition',
            `attachment; filename="${request.params.schoolId}-people.${request.params.format}"`,
          )
          .send(file);
      } catch (error) {
        return sendRefusal(reply, error);
      }
    },
  );

  app.post<{
    Body: PeopleFilter & {
      requestId: string;
      operatorId: string;
      validityMode?: 'fixed' | 'years_from_issue' | 'until_graduation';
      expiresOn?: string;
      categoryId?: number;
    };
  }>(
    '/api/card-office/cards/batch-issue',
    {
      schema: {
        summary: 'Issue a card to everyone a filter selects who has none (批量办卡), all in one step',
        tags,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['requestId', 'operatorId', 'schoolId'],
          properties: {
            requestId,
            operatorId,
            ...filterFields,
            validityMode: { type: 'string', enum: ['fixed', 'years_from_issue', 'until_graduation'] },
            expiresOn: isoDate,
            categoryId: { type: 'integer', minimum: 1, maximum: 120 },
          },
        },
        response: okResponse,
      },
    },
    async (request, reply) => {
      const { requestId: rid, operatorId: op, validityMode, expiresOn, categoryId, ...filter } = request.body;
      try {
        const answer = await batchIssueCards(app.db, {
          requestId: rid,
          operatorId: op,
          filter,
          validityMode,
          expiresOn,
          categoryId,
        });
        if (answer.replayed) reply.header('Idempotent-Replayed', 'true');
        return reply.send({ outcome: 'ok', ...answer.response, replayed: answer.replayed });
      } catch (error) {
        return sendRefusal(reply, error);
      }
    },
  );
}
