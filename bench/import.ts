// `npm run bench -- import [--rows 10000] [--photos 1000]`
//
// 批量导入 of people: a CSV and an XLSX of `rows` students (with `photos` JPEG photos in a zip), each
// dry-run and then applied (all or nothing, one transaction) into its own school, against an embedded
// PostgreSQL (system/postgres-main.ts) on a free port under var/bench/import (wiped). The goal is
// 10,000 rows in under 10 s. The last line is
// {"rows":…,"csvDryRunMs":…,"csvApplyMs":…,"xlsxDryRunMs":…,"xlsxApplyMs":…,"exportCsvMs":…,"exportXlsxMs":…}.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { migrate } from '../core/db/migrate.ts';
import { createPool } from '../core/db/pool.ts';
import { repoRoot } from '../core/paths.ts';
import { applyImport, dryRunImport } from '../core/people/import.ts';
import { exportPeople } from '../core/people/export.ts';
import { toCsv, toXlsx } from '../core/people/table-files.ts';
import { startPostgres } from '../system/stack.ts';
import { type ManagedChild } from '../system/child.ts';
import { freePort } from '../system/ports.ts';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index > 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive whole number`);
    process.exit(2);
  }
  return value;
}
const rowCount = option('rows', 10_000);
const photoCount = Math.min(option('photos', 1_000), rowCount);

const varDir = path.join(repoRoot, 'var', 'bench', 'import');
fs.rmSync(varDir, { recursive: true, force: true });
fs.mkdirSync(varDir, { recursive: true });
const log = fs.createWriteStream(path.join(varDir, 'output.log'));
const password = randomBytes(12).toString('hex');
const pgPort = await freePort();
const children: ManagedChild[] = [];

function peopleRows(prefix: string): string[][] {
  const rows = [['学籍号/工号', '姓名', '性别', '身份', '部门', '校区', '批次', '年级', '班级']];
  for (let i = 1; i <= rowCount; i++)
    rows.push([
      `${prefix}${i}`,
      `学生${i}`,
      i % 2 ? '男' : '女',
      'student',
      '',
      '',
      'B2030',
      String(7 + (i % 6)),
      `${(i % 12) + 1}班`,
    ]);
  return rows;
}

const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const value = await fn();
  return [value, Math.round(performance.now() - started)];
};

try {
  const postgres = await startPostgres({
    varDir,
    port: pgPort,
    password,
    sink: (name, line) => log.write(`${name} ${line}\n`),
  });
  children.push(postgres);
  const { databaseUrl } = postgres;
  await migrate(databaseUrl, { info: (m: string) => log.write(`migrate ${m}\n`) });
  const pool = createPool(databaseUrl);
  const jpeg = Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), randomBytes(20_000)]);
  const figures: Record<string, number> = { rows: rowCount, photos: photoCount };
  for (const format of ['csv', 'xlsx'] as const) {
    const schoolId = `BENCH-${format.toUpperCase()}`;
    await pool.query(
      `insert into schools (school_id, name, district, kind) values ($1, '导入压测', '压测区', 'middle')`,
      [schoolId],
    );
    await pool.query(
      `insert into cardholder_batches (school_id, batch_code, name, kind) values ($1, 'B2030', '2030届', 'graduation')`,
      [schoolId],
    );
    const rows = peopleRows(format === 'csv' ? 'C' : 'X');
    const file = format === 'csv' ? toCsv(rows) : await toXlsx(rows, 'people');
    const photosZip = Buffer.from(
      zipSync(
        Object.fromEntries(rows.slice(1, photoCount + 1).map((r) => [`${r[0]}.jpg`, new Uint8Array(jpeg)])),
        { level: 0 },
      ),
    );
    const input = { schoolId, format, file, photosZip };
    const [report, dryMs] = await timed(() => dryRunImport(pool, input));
    if (report.problems.length > 0)
      throw new Error(`bench file has problems: ${JSON.stringify(report.problems.slice(0, 3))}`);
    const [, applyMs] = await timed(() =>
      applyImport(pool, { ...input, requestId: `bench-${format}`, operatorId: 'bench' }),
    );
    const [, exportMs] = await timed(() => exportPeople(pool, { schoolId }, format));
    figures[`${format}Bytes`] = file.length;
    figures[`${format}DryRunMs`] = dryMs;
    figures[`${format}ApplyMs`] = applyMs;
    figures[`export${format === 'csv' ? 'Csv' : 'Xlsx'}Ms`] = exportMs;
    console.log(
      `${format}: ${rowCount} rows, ${photoCount} photos: dry run ${dryMs} ms, apply ${applyMs} ms, export ${exportMs} ms`,
    );
  }
  await pool.end();
  console.log(JSON.stringify(figures));
} finally {
  for (const child of children.reverse()) await child.stop();
  log.end();
}
