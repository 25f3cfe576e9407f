import type { FastifyInstance, FastifyReply } from 'fastify';
import { ClickHouseError } from '@clickhouse/client';
import { reports, type ReportDefinition } from './catalog.ts';
import { newWorkbook } from '../../../core/xlsx.ts';

/** A report larger than this is refused with a request to narrow it, instead of exhausting memory. */
export const reportRowsMax = 200_000;
const rangeDaysMax = 731;
const formats = ['json', 'csv', 'xlsx'] as const;
type Format = (typeof formats)[number];

function badRequest(reply: FastifyReply, code: string, message: string) {
  return reply.status(400).send({ error: { code, message } });
}

async function toXlsx(title: string, rows: Array<Record<string, unknown>>): Promise<Buffer> {
  const workbook = await newWorkbook();
  const sheet = workbook.addWorksheet(title.slice(0, 31).replace(/[\\/?*[\]:]/g, ' '));
  const columns = Object.keys(rows[0] ?? {});
  sheet.columns = columns.map((key) => ({ header: key, key, width: Math.max(12, key.length + 2) }));
  // Fen and 64-bit ids arrive as strings (exact); small integers become numbers so Excel can sum them.
  for (const row of rows)
    sheet.addRow(
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [
          k,
          typeof v === 'string' && /^-?\d{1,15}$/.test(v) ? Number(v) : v,
        ]),
      ),
    );
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** The report API: one GET per report, parameters bound server-side, JSON, CSV or XLSX. */
export async function reportRoutes(app: FastifyInstance): Promise<void> {
  const register = (name: string, report: ReportDefinition) => {
    const properties = Object.fromEntries(
      Object.entries(report.params).map(([key, p]) => [key, { ...p.schema, description: p.description }]),
    );
    app.get<{ Querystring: Record<string, string> & { format?: Format } }>(
      `/api/reports/${name}`,
      {
        schema: {
          summary: report.title,
          tags: ['reports'],
          querystring: {
            type: 'object',
            required: Object.keys(report.params),
            additionalProperties: false,
            properties: { ...properties, format: { type: 'string', enum: formats, default: 'json' } },
          },
          response: {
            200: {
              description: 'JSON: the rows (64-bit integers and fen as strings); CSV or XLSX: the file',
              type: 'object',
              required: ['report', 'title', 'params', 'rows'],
              properties: {
                report: { type: 'string' },
                title: { type: 'string' },
                params: { type: 'object', additionalProperties: { type: 'string' } },
                rows: { type: 'array', items: { type: 'object', additionalProperties: true } },
              },
            },
            400: { $ref: 'Error#' },
            413: { $ref: 'Error#' },
            503: { $ref: 'Error#' },
          },
        },
      },
      async (request, reply) => {
        const { format = 'json', ...values } = request.query;
        if ('from' in values && 'to' in values) {
          const days = (Date.parse(values.to!) - Date.parse(values.from!)) / 86_400_000;
          if (days < 0)
            return badRequest(reply, 'invalid_range', 'querystring/to is before querystring/from');
          if (days > rangeDaysMax)
            return badRequest(
              reply,
              'invalid_range',
              `querystring/from..to spans more than ${rangeDaysMax} days`,
            );
        }
        const query = `select * from (${report.sql}) limit ${reportRowsMax + 1}`;
        let rows: Array<Record<string, unknown>>;
        try {
          const result = await app.warehouse.query({
            query,
            query_params: values,
            format: 'JSONEachRow',
            clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
          });
          rows = await result.json<Record<string, unknown>>();
        } catch (error) {
          if (error instanceof ClickHouseError && (error.code === '60' || error.code === '81'))
            return reply.status(503).send({
              error: {
                code: 'reports_not_built',
                message: 'the report marts are not built yet; run dbt build (warehouse/dbt) first',
              },
            });
          throw error;
        }
        if (rows.length > reportRowsMax)
          return reply.status(413).send({
            error: {
              code: 'report_too_large',
              message: `more than ${reportRowsMax} rows; narrow the parameters`,
            },
          });
        const file = `${name}-${Object.values(values).join('-')}`;
        if (format === 'csv') {
          const columns = Object.keys(rows[0] ?? {});
          const cell = (v: unknown) => {
            const s = v === null || v === undefined ? '' : String(v);
            return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
          };
          const lines = [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))];
          return reply
            .header('content-type', 'text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="${file}.csv"`)
            .send(`\uFEFF${lines.join('\r\n')}\r\n`);
        }
        if (format === 'xlsx')
          return reply
            .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
            .header('content-disposition', `attachment; filename="${file}.xlsx"`)
            .send(await toXlsx(name, rows));
        return { report: name, title: report.title, params: values, rows };
      },
    );
  };
  for (const [name, report] of Object.entries(reports)) register(name, report);
  app.get(
    '/api/reports',
    {
      schema: {
        summary: 'The reports and their parameters',
        tags: ['reports'],
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                title: { type: 'string' },
                params: { type: 'object', additionalProperties: { type: 'string' } },
                paramTypes: {
                  description:
                    "each parameter's ClickHouse type (String, Date, UInt16), for a form to pick its input",
                  type: 'object',
                  additionalProperties: { type: 'string' },
                },
                formats: { type: 'array', items: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    async () =>
      Object.entries(reports).map(([name, r]) => ({
        name,
        title: r.title,
        params: Object.fromEntries(Object.entries(r.params).map(([k, p]) => [k, p.description])),
        paramTypes: Object.fromEntries(Object.entries(r.params).map(([k, p]) => [k, p.type])),
        formats,
      })),
  );
}
