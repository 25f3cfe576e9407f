import { unzipSync } from 'fflate';
import type { Pool } from '../db/pool.ts';
import { OfficeRefusal } from '../keys/refusal.ts';
import { runOfficeCommand, type Client } from '../cards/office-command.ts';
import { photoBytesMax, photoMimeType } from './cardholders.ts';
import { parseCsv, parseXlsx, tableLimits, TableFileError } from './table-files.ts';

/** The columns of a people file; a header may use the English key or the Chinese name. */
export const columns = [
  { key: 'personNo', zh: '学籍号/工号', required: true },
  { key: 'name', zh: '姓名', required: true },
  { key: 'gender', zh: '性别', required: true },
  { key: 'identityCode', zh: '身份', required: true },
  { key: 'departmentId', zh: '部门', required: false },
  { key: 'campusId', zh: '校区', required: false },
  { key: 'batchCode', zh: '批次', required: false },
  { key: 'grade', zh: '年级', required: false },
  { key: 'className', zh: '班级', required: false },
] as const;
type ColumnKey = (typeof columns)[number]['key'];

export interface RowProblem {
  /** The file's row number (1 is the header); null for a problem with the file or the photo archive. */
  row: number | null;
  column: string;
  reason: string;
}

export interface PersonRow {
  row: number;
  personNo: string;
  name: string;
  gender: 'F' | 'M' | 'U';
  identityCode: string;
  departmentId: string | null;
  campusId: string | null;
  batchCode: string | null;
  grade: number | null;
  className: string | null;
}

export interface ImportReport {
  schoolId: string;
  format: 'csv' | 'xlsx';
  rowCount: number;
  validCount: number;
  photoCount: number;
  problems: RowProblem[];
}

const genders: Record<string, 'F' | 'M' | 'U'> = { 男: 'M', 女: 'F', M: 'M', F: 'F', U: 'U', 未知: 'U' };
const problemsMax = 10_000;

function headerIndex(header: string[]): { index: Map<ColumnKey, number>; problems: RowProblem[] } {
  const index = new Map<ColumnKey, number>();
  const problems: RowProblem[] = [];
  header.forEach((raw, i) => {
    const name = raw.trim();
    const column = columns.find((c) => c.key === name || c.zh === name || c.zh.split('/').includes(name));
    if (!column) {
      if (name) problems.push({ row: 1, column: name, reason: `unknown column "${name}"` });
      return;
    }
    if (index.has(column.key))
      problems.push({ row: 1, column: name, reason: `column ${column.key} appears twice` });
    index.set(column.key, i);
  });
  for (const column of columns)
    if (column.required && !index.has(column.key))
      problems.push({
        row: 1,
        column: column.key,
        reason: `required column ${column.key} (${column.zh}) is missing`,
      });
  return { index, problems };
}

/** School references, loaded once for the whole file. */
async function loadReferences(client: Pick<Client, 'query'>, schoolId: string) {
  // One after another: on a transaction's client, queries cannot overlap.
  const identities = await client.query<{ identity_code: string }>(`select identity_code from identities`);
  const departments = await client.query<{ department_id: string }>(
    `select department_id from cardholder_departments where school_id = $1`,
    [schoolId],
  );
  const campuses = await client.query<{ campus_id: string }>(
    `select campus_id from campuses where school_id = $1`,
    [schoolId],
  );
  const batches = await client.query<{ batch_code: string }>(
    `select batch_code from cardholder_batches where school_id = $1`,
    [schoolId],
  );
  const people = await client.query<{ person_no: string }>(
    `select person_no from cardholders where school_id = $1`,
    [schoolId],
  );
  return {
    identities: new Set(identities.rows.map((r) => r.identity_code)),
    departments: new Set(departments.rows.map((r) => r.department_id)),
    campuses: new Set(campuses.rows.map((r) => r.campus_id)),
    batches: new Set(batches.rows.map((r) => r.batch_code)),
    people: new Set(people.rows.map((r) => r.person_no)),
  };
}

/** Every problem of every row, each naming its row, column and reason; and the rows that are good. */
export function checkRows(rows: string[][], references: Awaited<ReturnType<typeof loadReferences>>) {
  const problems: RowProblem[] = [];
  const header = headerIndex(rows[0] ?? []);
  problems.push(...header.problems);
  if (rows.length === 0) problems.push({ row: null, column: '', reason: 'the file is empty' });
  const good: PersonRow[] = [];
  const seen = new Map<string, number>();
  for (let r = 1; r < rows.length && problems.length < problemsMax; r++) {
    const cells = rows[r]!;
    if (cells.length === 0) continue;
    const rowNo = r + 1;
    const get = (key: ColumnKey) => {
      const i = header.index.get(key);
      return i === undefined ? '' : (cells[i] ?? '').trim();
    };
    const bad = (column: string, reason: string) => problems.push({ row: rowNo, column, reason });
    const before = problems.length;
    for (const column of columns) {
      const value = get(column.key);
      if (column.required && value === '') bad(column.key, 'is empty');
      if (value.length > tableLimits.cellCharsMax)
        bad(column.key, `is longer than ${tableLimits.cellCharsMax} characters`);
    }
    const personNo = get('personNo');
    if (personNo && !/^[A-Za-z0-9-]{1,32}$/.test(personNo))
      bad('personNo', `"${personNo}" must be 1–32 letters, digits or hyphens`);
    else if (personNo && seen.has(personNo))
      bad('personNo', `${personNo} is also on row ${seen.get(personNo)}`);
    else if (personNo && references.people.has(personNo))
      bad('personNo', `${personNo} already exists in this school`);
    if (personNo) seen.set(personNo, seen.get(personNo) ?? rowNo);
    const name = get('name');
    if (name.length > 50) bad('name', 'is longer than 50 characters');
    const gender = genders[get('gender')];
    if (get('gender') && !gender) bad('gender', `"${get('gender')}" is not 男, 女, M, F or U`);
    const identityCode = get('identityCode');
    if (identityCode && !references.identities.has(identityCode))
      bad('identityCode', `no identity ${identityCode}`);
    const departmentId = get('departmentId') || null;
    if (departmentId && !references.departments.has(departmentId))
      bad('departmentId', `no department ${departmentId} in this school`);
    const campusId = get('campusId') || null;
    if (campusId && !references.campuses.has(campusId))
      bad('campusId', `no campus ${campusId} in this school`);
    const batchCode = get('batchCode') || null;
    if (batchCode && !references.batches.has(batchCode))
      bad('batchCode', `no batch ${batchCode} in this school`);
    const gradeText = get('grade');
    const grade = gradeText === '' ? null : Number(gradeText);
    if (grade !== null && (!Number.isInteger(grade) || grade < 0 || grade > 12))
      bad('grade', `"${gradeText}" is not a whole number 0–12`);
    const className = get('className') || null;
    if (className && className.length > 50) bad('className', 'is longer than 50 characters');
    if (problems.length === before)
      good.push({
        row: rowNo,
        personNo,
        name,
        gender: gender!,
        identityCode,
        departmentId,
        campusId,
        batchCode,
        grade,
        className,
      });
  }
  return { good, problems };
}

/** Photos from a zip, named by person number (S001.jpg); each must be a JPEG or PNG under the size limit. */
export function readPhotoZip(zip: Buffer | undefined, personNos: Set<string>) {
  const photos = new Map<string, Buffer>();
  const problems: RowProblem[] = [];
  if (!zip) return { photos, problems };
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(new Uint8Array(zip));
  } catch (error) {
    problems.push({ row: null, column: 'photos', reason: `not a zip archive: ${(error as Error).message}` });
    return { photos, problems };
  }
  for (const [entryName, bytes] of Object.entries(entries)) {
    if (entryName.endsWith('/')) continue;
    const base = entryName.split('/').pop()!;
    const match = /^([A-Za-z0-9-]{1,32})\.(jpe?g|png)$/i.exec(base);
    if (!match) {
      problems.push({
        row: null,
        column: 'photos',
        reason: `${entryName}: name it <person number>.jpg or .png`,
      });
      continue;
    }
    const content = Buffer.from(bytes);
    if (!personNos.has(match[1]!))
      problems.push({
        row: null,
        column: 'photos',
        reason: `${entryName}: no row has person number ${match[1]}`,
      });
    else if (!photoMimeType(content))
      problems.push({ row: null, column: 'photos', reason: `${entryName}: not a JPEG or PNG image` });
    else if (content.length > photoBytesMax)
      problems.push({
        row: null,
        column: 'photos',
        reason: `${entryName}: more than ${photoBytesMax} bytes`,
      });
    else photos.set(match[1]!, content);
  }
  return { photos, problems };
}

async function parse(
  format: 'csv' | 'xlsx',
  file: Buffer,
): Promise<{ rows: string[][]; problems: RowProblem[] }> {
  try {
    return { rows: format === 'csv' ? parseCsv(file) : await parseXlsx(file), problems: [] };
  } catch (error) {
    if (error instanceof TableFileError)
      return { rows: [], problems: [{ row: null, column: '', reason: error.message }] };
    throw error;
  }
}

export interface ImportInput {
  schoolId: string;
  format: 'csv' | 'xlsx';
  file: Buffer;
  photosZip?: Buffer;
}

async function prepare(client: Pick<Client, 'query'>, input: ImportInput) {
  const { rows: schools } = await client.query(`select 1 from schools where school_id = $1`, [
    input.schoolId,
  ]);
  if (schools.length === 0) throw new OfficeRefusal('school_not_found', `no school ${input.schoolId}`);
  const parsed = await parse(input.format, input.file);
  const references = await loadReferences(client, input.schoolId);
  const checked = checkRows(parsed.rows, references);
  const photos = readPhotoZip(input.photosZip, new Set(checked.good.map((r) => r.personNo)));
  const problems = [...parsed.problems, ...checked.problems, ...photos.problems];
  const report: ImportReport = {
    schoolId: input.schoolId,
    format: input.format,
    rowCount: parsed.rows.slice(1).filter((r) => r.length > 0).length,
    validCount: checked.good.length,
    photoCount: photos.photos.size,
    problems,
  };
  return { report, good: checked.good, photos: photos.photos };
}

/** 试导入: every problem of the file, changing nothing. */
export async function dryRunImport(pool: Pool, input: ImportInput): Promise<ImportReport> {
  return (await prepare(pool, input)).report;
}

const chunkRows = 2_000;

/**
 * 导入: all or nothing. Any problem refuses the whole file (the answer is the dry-run report); otherwise
 * every row and photo goes in one transaction, in chunks, reporting progress after each.
 */
export async function applyImport(
  pool: Pool,
  input: ImportInput & { requestId: string; operatorId: string },
  onProgress: (progress: {
    phase: 'checked' | 'inserting' | 'done';
    done: number;
    total: number;
  }) => void = () => undefined,
) {
  return runOfficeCommand(pool, {
    requestKey: `import:${input.requestId}`,
    kind: 'import_people',
    operatorId: input.operatorId,
    content: {
      schoolId: input.schoolId,
      format: input.format,
      fileBytes: input.file.length,
      photoBytes: input.photosZip?.length ?? 0,
    },
    run: async (ctx) => {
      await ctx.client.query(`select pg_advisory_xact_lock(hashtext($1))`, [
        `import-school:${input.schoolId}`,
      ]);
      const { report, good, photos } = await prepare(ctx.client, input);
      if (report.problems.length > 0) throw new ImportRefused(report);
      onProgress({ phase: 'checked', done: 0, total: good.length });
      const kinds = new Map(
        (
          await ctx.client.query<{ identity_code: string; kind: string }>(
            `select identity_code, kind from identities`,
          )
        ).rows.map((r) => [r.identity_code, r.kind]),
      );
      const ids = new Map<string, bigint>();
      for (let start = 0; start < good.length; start += chunkRows) {
        const chunk = good.slice(start, start + chunkRows);
        const { rows } = await ctx.client.query<{ cardholder_id: bigint; person_no: string }>(
          `insert into cardholders (school_id, kind, person_no, name, gender, identity_code, department_id, campus_id, batch_code, grade, class_name)
           select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::smallint[], $11::text[])
           returning cardholder_id, person_no`,
          [
            input.schoolId,
            chunk.map((r) => kinds.get(r.identityCode)),
            chunk.map((r) => r.personNo),
            chunk.map((r) => r.name),
            chunk.map((r) => r.gender),
            chunk.map((r) => r.identityCode),
            chunk.map((r) => r.departmentId),
            chunk.map((r) => r.campusId),
            chunk.map((r) => r.batchCode),
            chunk.map((r) => r.grade),
            chunk.map((r) => r.className),
          ],
        );
        for (const row of rows) ids.set(row.person_no, row.cardholder_id);
        onProgress({
          phase: 'inserting',
          done: Math.min(start + chunkRows, good.length),
          total: good.length,
        });
      }
      const photoEntries = [...photos.entries()];
      for (let start = 0; start < photoEntries.length; start += 200) {
        const chunk = photoEntries.slice(start, start + 200);
        await ctx.client.query(
          `insert into cardholder_photos (cardholder_id, mime_type, content) select * from unnest($1::bigint[], $2::text[], $3::bytea[])`,
          [
            chunk.map(([no]) => ids.get(no)!.toString()),
            chunk.map(([, c]) => photoMimeType(c)!),
            chunk.map(([, c]) => c),
          ],
        );
      }
      await ctx.audit({
        action: 'import_people',
        schoolId: input.schoolId,
        detail: { format: input.format, rows: good.length, photos: photos.size },
      });
      onProgress({ phase: 'done', done: good.length, total: good.length });
      return { ...report, imported: good.length };
    },
  });
}

/** The refusal of a file with problems: the whole dry-run report travels with it. */
export class ImportRefused extends OfficeRefusal {
  constructor(readonly report: ImportReport) {
    super('invalid_input', `the file has ${report.problems.length} problem(s); nothing was imported`);
  }
}
