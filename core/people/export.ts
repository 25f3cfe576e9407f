import { zipSync } from 'fflate';
import type { Pool } from '../db/pool.ts';
import { OfficeRefusal } from '../keys/refusal.ts';
import { issueCardStep, type ValidityMode } from '../cards/lifecycle.ts';
import { runOfficeCommand } from '../cards/office-command.ts';
import { columns } from './import.ts';
import { toCsv, toXlsx } from './table-files.ts';

export interface PeopleFilter {
  schoolId: string;
  batchCode?: string;
  departmentId?: string;
  identityCode?: string;
  /** Only people without a live user card (for 批量办卡). */
  withoutCard?: boolean;
}

const selectionLimit = 50_000;

async function selectPeople(db: Pick<Pool, 'query'>, filter: PeopleFilter) {
  const { rows } = await db.query<{
    cardholder_id: bigint;
    person_no: string;
    name: string;
    gender: string;
    identity_code: string | null;
    department_id: string | null;
    campus_id: string | null;
    batch_code: string | null;
    grade: number | null;
    class_name: string | null;
  }>(
    `select h.cardholder_id, h.person_no, h.name, h.gender, h.identity_code, h.department_id, h.campus_id, h.batch_code, h.grade, h.class_name
       from cardholders h
      where h.school_id = $1 and h.status = 'active'
        and ($2::text is null or h.batch_code = $2) and ($3::text is null or h.department_id = $3)
        and ($4::text is null or h.identity_code = $4)
        and (not $5 or not exists (select 1 from cards c where c.cardholder_id = h.cardholder_id and c.card_kind = 'user' and c.status <> 'cancelled'))
      order by h.person_no limit $6`,
    [
      filter.schoolId,
      filter.batchCode ?? null,
      filter.departmentId ?? null,
      filter.identityCode ?? null,
      filter.withoutCard ?? false,
      selectionLimit + 1,
    ],
  );
  if (rows.length > selectionLimit)
    throw new OfficeRefusal(
      'invalid_input',
      `the filter selects more than ${selectionLimit} people; narrow it`,
    );
  return rows;
}

const genderZh: Record<string, string> = { M: '男', F: '女', U: '未知' };

/** 导出: the same columns (Chinese headers) the import reads, as CSV or XLSX, and the photos as a zip. */
export async function exportPeople(pool: Pool, filter: PeopleFilter, format: 'csv' | 'xlsx') {
  const people = await selectPeople(pool, filter);
  const rows = [
    columns.map((c) => c.zh),
    ...people.map((p) => [
      p.person_no,
      p.name,
      genderZh[p.gender] ?? p.gender,
      p.identity_code ?? '',
      p.department_id ?? '',
      p.campus_id ?? '',
      p.batch_code ?? '',
      p.grade === null ? '' : String(p.grade),
      p.class_name ?? '',
    ]),
  ];
  const file = format === 'csv' ? toCsv(rows) : await toXlsx(rows, filter.schoolId);
  const { rows: photos } = await pool.query<{ person_no: string; mime_type: string; content: Buffer }>(
    `select h.person_no, p.mime_type, p.content from cardholder_photos p join cardholders h using (cardholder_id)
      where h.cardholder_id = any($1::bigint[])`,
    [people.map((p) => p.cardholder_id.toString())],
  );
  const zip = zipSync(
    Object.fromEntries(
      photos.map((p) => [
        `${p.person_no}.${p.mime_type === 'image/png' ? 'png' : 'jpg'}`,
        new Uint8Array(p.content),
      ]),
    ),
  );
  return { file, photosZip: Buffer.from(zip), count: people.length };
}

/** 批量办卡: a card for every selected person without one, all in one step (or none). */
export async function batchIssueCards(
  pool: Pool,
  input: {
    requestId: string;
    operatorId: string;
    filter: PeopleFilter;
    validityMode?: ValidityMode;
    expiresOn?: string;
    categoryId?: number;
  },
) {
  return runOfficeCommand(pool, {
    requestKey: `batch-issue:${input.requestId}`,
    kind: 'batch_issue',
    operatorId: input.operatorId,
    content: {
      filter: input.filter,
      validityMode: input.validityMode,
      expiresOn: input.expiresOn,
      categoryId: input.categoryId,
    },
    run: async (ctx) => {
      const people = await selectPeople(ctx.client, { ...input.filter, withoutCard: true });
      if (people.length > 5_000)
        throw new OfficeRefusal('invalid_input', 'issue at most 5000 cards in one step');
      const cards: Array<{ personNo: string; cardNo: unknown }> = [];
      for (const person of people) {
        const card = await issueCardStep(
          ctx,
          {
            cardholderId: person.cardholder_id,
            validityMode: input.validityMode,
            expiresOn: input.expiresOn,
            categoryId: input.categoryId,
          },
          new Date(),
        );
        cards.push({ personNo: person.person_no, cardNo: card.cardNo });
      }
      return { issuedCount: cards.length, cards };
    },
  });
}
