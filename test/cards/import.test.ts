import { randomBytes } from 'node:crypto';
import { zipSync, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { applyImport } from '../../core/people/import.ts';
import { exportPeople } from '../../core/people/export.ts';
import { parseCsv, parseXlsx, toXlsx } from '../../core/people/table-files.ts';
import { stackConfig } from '../support/env.ts';

let app: FastifyInstance;
const tag = randomBytes(3).toString('hex').toUpperCase();
const schoolId = `IM-${tag}`;
let seq = 0;
const rid = () => `${tag}-${++seq}`;
const jpeg = Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), randomBytes(40)]);

async function post(url: string, body: Record<string, unknown>) {
  const response = await app.inject({ method: 'POST', url, payload: body });
  return { status: response.statusCode, body: response.json() };
}

const b64 = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64');

beforeAll(async () => {
  app = await buildApp(stackConfig(), pino({ level: 'warn' }));
  await app.ready();
  const steps: Array<[string, Record<string, unknown>]> = [
    [
      '/api/card-office/schools',
      {
        schoolId,
        name: '导入测试学校',
        district: '测试区',
        kind: 'high',
        administrator: { staffNo: 'ADM', name: '管理员', gender: 'F' },
      },
    ],
    ['/api/card-office/departments', { departmentId: `${schoolId}-G10`, schoolId, name: '高一' }],
    [
      '/api/card-office/batches',
      { schoolId, batchCode: 'Y2029', name: '2029届', kind: 'graduation', graduatesOn: '2029-07-01' },
    ],
  ];
  for (const [url, body] of steps) {
    const r = await post(url, { requestId: rid(), operatorId: 'office-1', ...body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }
});
afterAll(async () => app?.close());

const header = '学籍号/工号,姓名,性别,身份,部门,校区,批次,年级,班级';

describe('a file full of bad rows', () => {
  const csv = Buffer.from(
    [
      header,
      'S001,张三,男,student,,,,10,一班', // good
      ',李四,女,student,,,,10,', // no person number
      'S003,,女,student,,,,10,', // no name
      'S004,王五,X,student,,,,10,', // bad gender
      'S005,赵六,男,astronaut,,,,10,', // unknown identity
      `S006,钱七,女,student,NO-DEPT,,,10,`, // unknown department
      'S007,孙八,男,student,,,Y1999,10,', // unknown batch
      'S008,周九,女,student,,,,13,', // bad grade
      'S001,吴十,男,student,,,,10,', // duplicate of row 2
      'S 010,郑一,男,student,,,,10,', // bad characters
      'ADM,管理员二,男,staff,,,,,', // exists in the school already
      '',
      'S012,"冯,二",女,student,,,,10,', // good, quoted comma, after a blank line
    ].join('\n'),
  );

  test('the dry run names every problem by row, column and reason', async () => {
    const r = await post('/api/card-office/imports/dry-run', {
      schoolId,
      format: 'csv',
      fileBase64: b64(csv),
      photosZipBase64: b64(
        zipSync({ 'S001.jpg': jpeg, 'X99.jpg': jpeg, 'S012.png': Buffer.from('not a png') }),
      ),
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rowCount: 12, validCount: 2, photoCount: 1 });
    expect(r.body.problems).toEqual([
      { row: 3, column: 'personNo', reason: 'is empty' },
      { row: 4, column: 'name', reason: 'is empty' },
      { row: 5, column: 'gender', reason: '"X" is not 男, 女, M, F or U' },
      { row: 6, column: 'identityCode', reason: 'no identity astronaut' },
      { row: 7, column: 'departmentId', reason: 'no department NO-DEPT in this school' },
      { row: 8, column: 'batchCode', reason: 'no batch Y1999 in this school' },
      { row: 9, column: 'grade', reason: '"13" is not a whole number 0–12' },
      { row: 10, column: 'personNo', reason: 'S001 is also on row 2' },
      { row: 11, column: 'personNo', reason: '"S 010" must be 1–32 letters, digits or hyphens' },
      { row: 12, column: 'personNo', reason: 'ADM already exists in this school' },
      { row: null, column: 'photos', reason: 'X99.jpg: no row has person number X99' },
      { row: null, column: 'photos', reason: 'S012.png: not a JPEG or PNG image' },
    ]);
  });

  test('applying it is refused with the same report, and nothing is imported', async () => {
    const r = await post('/api/card-office/imports', {
      requestId: rid(),
      operatorId: 'office-1',
      schoolId,
      format: 'csv',
      fileBase64: b64(csv),
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('the file has 10 problem(s); nothing was imported');
    expect(r.body.report.problems).toHaveLength(10);
    const { rows } = await app.db.query(
      `select count(*)::int as n from cardholders where school_id = $1 and person_no in ('S001', 'S012')`,
      [schoolId],
    );
    expect(rows[0].n).toBe(0);
  });

  test.each([
    [
      'a header without required columns',
      Buffer.from('姓名,性别\n张三,男\n'),
      'required column personNo (学籍号/工号) is missing',
    ],
    ['an unknown column', Buffer.from(`${header},血型\nS1,张,男,student,,,,,,A\n`), 'unknown column "血型"'],
    ['an unclosed quote', Buffer.from(`${header}\nS1,"张,男,student\n`), 'a quoted field is never closed'],
    ['text that is not UTF-8', Buffer.from([0xc4, 0xe3, 0xba, 0xc3, 0x0a]), 'not UTF-8 text'],
  ])('%s is named', async (_name, file, reason) => {
    const r = await post('/api/card-office/imports/dry-run', {
      schoolId,
      format: 'csv',
      fileBase64: b64(file),
    });
    expect(r.body.problems.map((p: { reason: string }) => p.reason).join(' | ')).toContain(reason);
  });

  test('an XLSX that is not a workbook, and an unknown school, are named', async () => {
    const r = await post('/api/card-office/imports/dry-run', {
      schoolId,
      format: 'xlsx',
      fileBase64: b64(Buffer.from('hello')),
    });
    expect(r.body.problems[0].reason).toMatch(/^not an XLSX workbook/);
    const unknown = await post('/api/card-office/imports/dry-run', {
      schoolId: 'NO-SCHOOL',
      format: 'csv',
      fileBase64: b64(csv),
    });
    expect(unknown.status).toBe(404);
  });
});

describe('a good file', () => {
  test('CSV with photos: dry run clean, then applied all at once with progress; a repeat replays', async () => {
    const lines = [header];
    for (let i = 1; i <= 300; i++)
      lines.push(`G${i},学生${i},${i % 2 ? '男' : '女'},student,${schoolId}-G10,,Y2029,10,${(i % 6) + 1}班`);
    const file = Buffer.from(lines.join('\r\n'));
    const photosZip = Buffer.from(zipSync({ 'photos/G1.jpg': jpeg, 'photos/G2.jpg': jpeg }));
    const dry = await post('/api/card-office/imports/dry-run', {
      schoolId,
      format: 'csv',
      fileBase64: b64(file),
      photosZipBase64: b64(photosZip),
    });
    expect(dry.body).toMatchObject({ rowCount: 300, validCount: 300, photoCount: 2, problems: [] });
    const progress: Array<{ phase: string; done: number }> = [];
    const requestId = rid();
    const applied = await applyImport(
      app.db,
      { schoolId, format: 'csv', file, photosZip, requestId, operatorId: 'office-1' },
      (p) => progress.push(p),
    );
    expect(applied.response).toMatchObject({ imported: 300 });
    expect(progress.map((p) => p.phase)).toEqual(['checked', 'inserting', 'done']);
    const again = await applyImport(app.db, {
      schoolId,
      format: 'csv',
      file,
      photosZip,
      requestId,
      operatorId: 'office-1',
    });
    expect(again.replayed).toBe(true);
    const { rows } = await app.db.query(
      `select count(*)::int as n, count(p.cardholder_id)::int as photos from cardholders h left join cardholder_photos p using (cardholder_id)
        where h.school_id = $1 and h.person_no like 'G%'`,
      [schoolId],
    );
    expect(rows[0]).toEqual({ n: 300, photos: 2 });
  });

  test('XLSX import, and export in both formats that reads back the same rows', async () => {
    const rows = [
      header.split(','),
      ['X1', '许一', '女', 'student', '', '', 'Y2029', '11', '二班'],
      ['X2', '许二', '男', 'student', '', '', '', '', ''],
    ];
    const xlsx = await toXlsx(rows, 'people');
    const r = await post('/api/card-office/imports', {
      requestId: rid(),
      operatorId: 'office-1',
      schoolId,
      format: 'xlsx',
      fileBase64: b64(xlsx),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.imported).toBe(2);
    const csv = await app.inject({
      method: 'GET',
      url: `/api/card-office/schools/${schoolId}/people.csv?batchCode=Y2029`,
    });
    expect(csv.headers['content-type']).toContain('text/csv');
    const csvRows = parseCsv(csv.rawPayload);
    expect(csvRows[0]!.join(',')).toBe(header);
    expect(csvRows.find((row) => row[0] === 'X1')).toEqual([
      'X1',
      '许一',
      '女',
      'student',
      '',
      '',
      'Y2029',
      '11',
      '二班',
    ]);
    expect(csvRows).toHaveLength(1 + 301);
    const exported = await exportPeople(app.db, { schoolId, batchCode: 'Y2029' }, 'xlsx');
    const xlsxRows = await parseXlsx(exported.file);
    expect(xlsxRows.find((row) => row[0] === 'G2')).toEqual([
      'G2',
      '学生2',
      '女',
      'student',
      `${schoolId}-G10`,
      '',
      'Y2029',
      '10',
      '3班',
    ]);
    expect(Object.keys(unzipSync(new Uint8Array(exported.photosZip))).sort()).toEqual(['G1.jpg', 'G2.jpg']);
  });

  test('batch card issue for a filtered set: everyone without a card, once', async () => {
    const body = {
      operatorId: 'office-1',
      schoolId,
      departmentId: `${schoolId}-G10`,
      validityMode: 'until_graduation',
    };
    const first = await post('/api/card-office/cards/batch-issue', { requestId: rid(), ...body });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.issuedCount).toBe(300);
    const second = await post('/api/card-office/cards/batch-issue', { requestId: rid(), ...body });
    expect(second.body.issuedCount).toBe(0);
    const { rows } = await app.db.query(
      `select count(*)::int as n from cards c join cardholders h using (cardholder_id) where h.school_id = $1 and c.expires_on = '2029-07-01'`,
      [schoolId],
    );
    expect(rows[0].n).toBe(300);
  });
});
