import type { PoolClient } from 'pg';
import type { Pool } from '../db/pool.ts';
import { runCommand } from '../ledger/command.ts';
import { topUpCommand } from '../ledger/operations/top-up.ts';
import { ensureMerchantAccount, ensureSchoolUnit, issueCard } from '../ledger/registry.ts';

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

export async function seedDemoDistrict(
  pool: Pool,
): Promise<{ cardholders: number; terminals: number; cards: number }> {
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
      // 结算部门: the school's finance office settles both merchants; its head approves the statements.
      const department = `${school.schoolId}-FIN`;
      await client.query(
        `insert into settlement_departments (department_id, school_id, name) values ($1, $2, '后勤结算中心') on conflict do nothing`,
        [department, school.schoolId],
      );
      await client.query(
        `update merchants set department_id = $1 where merchant_id in ($2, $3) and department_id is null`,
        [department, canteen, shop],
      );
      await client.query(
        `insert into finance_grants (operator_id, permission, department_id, granted_by)
         values ($1, 'settlement_approve', $2, 'demo-seed') on conflict do nothing`,
        [`${school.schoolId.toLowerCase()}-finance-head`, department],
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
    await issueDemoCards(client);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
  await fundDemoCards(pool);
  const counts = await pool.query<{ cardholders: string; terminals: string; cards: string }>(
    `select (select count(*) from cardholders)::text as cardholders, (select count(*) from terminals)::text as terminals,
            (select count(*) from cards)::text as cards`,
  );
  const row = counts.rows[0]!;
  return { cardholders: Number(row.cardholders), terminals: Number(row.terminals), cards: Number(row.cards) };
}

/** Every demo cardholder gets a card (student or staff category) with its wallets, in the ledger's way. */
async function issueDemoCards(client: PoolClient): Promise<void> {
  for (const school of schools) {
    await ensureSchoolUnit(client, school.schoolId);
    for (const suffix of ['CT', 'SP']) await ensureMerchantAccount(client, `${school.schoolId}-${suffix}`);
  }
  const { rows } = await client.query<{ cardholder_id: bigint; kind: string }>(
    `select cardholder_id, kind from cardholders where school_id = any($1::text[]) order by cardholder_id`,
    [schools.map((school) => school.schoolId)],
  );
  for (const holder of rows) {
    await issueCard(client, {
      cardNo: demoCardNo(holder.cardholder_id),
      cardholderId: holder.cardholder_id,
      categoryId: holder.kind === 'staff' ? 2 : 1,
      expiresOn: '2030-08-31',
    });
  }
}

/** 100 yuan on every demo card, as a cash top-up at the cashier; the request key makes it once only. */
async function fundDemoCards(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ cardholder_id: bigint }>(
    `select h.cardholder_id from cardholders h where h.school_id = any($1::text[])
       and not exists (select 1 from ledger_transactions t where t.request_key = 'demo-opening/' || h.cardholder_id)`,
    [schools.map((school) => school.schoolId)],
  );
  for (const { cardholder_id } of rows) {
    const answer = await runCommand(
      pool,
      topUpCommand({
        requestKey: `demo-opening/${cardholder_id}`,
        cardNo: demoCardNo(cardholder_id),
        amountFen: 10_000n,
        method: 'cash',
        operatorId: 'demo-seed',
        at: new Date(),
      }),
    );
    if (answer.response.outcome !== 'ok') {
      throw new Error(
        `demo opening balance refused for cardholder ${cardholder_id}: ${answer.response.outcome}`,
      );
    }
  }
}

export function demoCardNo(cardholderId: bigint): string {
  return `DE${cardholderId.toString(16).toUpperCase().padStart(8, '0')}`;
}
