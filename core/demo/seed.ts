import type { Pool } from '../db/pool.ts';

/**
 * A small demo district for npm start: two schools with their canteens, shops, terminals and a few hundred
 * cardholders. Deterministic and idempotent: running it again adds nothing.
 */
const schools = [
  { schoolId: 'DEMO-SY01', name: '城东实验小学', kind: 'primary' },
  { schoolId: 'DEMO-ZX02', name: '城西第二中学', kind: 'middle' },
] as const;

const surnames = [
  '王',
  '李',
  '张',
  '刘',
  '陈',
  '杨',
  '赵',
  '黄',
  '周',
  '吴',
  '徐',
  '孙',
  '胡',
  '朱',
  '高',
  '林',
];
const givenNames = [
  '子涵',
  '浩然',
  '雨桐',
  '梓轩',
  '欣怡',
  '宇航',
  '思远',
  '佳琪',
  '俊杰',
  '诗涵',
  '明轩',
  '若曦',
];

export const demoSize = { schools: schools.length, studentsPerSchool: 140, staffPerSchool: 10 } as const;

export async function seedDemoDistrict(pool: Pool): Promise<{ cardholders: number; terminals: number }> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    for (const [schoolIndex, school] of schools.entries()) {
      await client.query(
        `insert into schools (school_id, name, district, kind) values ($1, $2, '示范区', $3) on conflict do nothing`,
        [school.schoolId, school.name, school.kind],
      );
      const canteen = `${school.schoolId}-CT`;
      const shop = `${school.schoolId}-SP`;
      await client.query(
        `insert into merchants (merchant_id, school_id, name, kind) values
           ($1, $3, '学生食堂', 'canteen'), ($2, $3, '校园超市', 'shop') on conflict do nothing`,
        [canteen, shop, school.schoolId],
      );
      const terminals: Array<[string, string, string | null]> = [
        ['POS1', 'pos', canteen],
        ['POS2', 'pos', canteen],
        ['POS3', 'pos', canteen],
        ['POS4', 'pos', shop],
        ['KIOSK1', 'kiosk', canteen],
        ['GATE1', 'gate', null],
        ['GATE2', 'gate', null],
        ['DORM1', 'dorm', null],
        ['ATT1', 'attendance', null],
        ['ATT2', 'attendance', null],
        ['BUS1', 'bus', null],
      ];
      for (const [suffix, kind, merchantId] of terminals) {
        await client.query(
          `insert into terminals (terminal_id, school_id, merchant_id, kind) values ($1, $2, $3, $4) on conflict do nothing`,
          [`${school.schoolId}-${suffix}`, school.schoolId, merchantId, kind],
        );
      }
      const people = demoSize.studentsPerSchool + demoSize.staffPerSchool;
      for (let i = 0; i < people; i++) {
        const isStaff = i >= demoSize.studentsPerSchool;
        const name =
          surnames[(i * 7 + schoolIndex) % surnames.length]! +
          givenNames[(i * 5 + schoolIndex) % givenNames.length]!;
        const grade = isStaff ? null : 1 + (i % 6);
        await client.query(
          `insert into cardholders (school_id, kind, person_no, name, gender, grade, class_name)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict (school_id, person_no) do nothing`,
          [
            school.schoolId,
            isStaff ? 'staff' : 'student',
            isStaff
              ? `T${String(i).padStart(5, '0')}`
              : `G${2026 - (grade ?? 0)}${String(i).padStart(5, '0')}`,
            name,
            i % 2 === 0 ? 'F' : 'M',
            grade,
            isStaff ? null : `${grade}年级${1 + (i % 3)}班`,
          ],
        );
      }
    }
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
  const counts = await pool.query<{ cardholders: string; terminals: string }>(
    `select (select count(*) from cardholders)::text as cardholders, (select count(*) from terminals)::text as terminals`,
  );
  return { cardholders: Number(counts.rows[0]!.cardholders), terminals: Number(counts.rows[0]!.terminals) };
}
