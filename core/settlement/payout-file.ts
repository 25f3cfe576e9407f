import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from '../db/pool.ts';
import { varPath } from '../paths.ts';

const yuan = (fen: bigint) => `${fen / 100n}.${String(fen % 100n).padStart(2, '0')}`;
const csvField = (value: string) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/**
 * 代发文件: the payout file finance sends the bank, one line per merchant paid by the posted journal and a
 * closing line with the count and the total, UTF-8 with a BOM so a spreadsheet opens it as Chinese text.
 * Written whole then renamed, so a reader never sees half of one; the same statement makes the same bytes.
 */
export async function writePayoutFile(
  db: Pool,
  statementId: string,
): Promise<{ file: string; sha256: string; lines: number; totalFen: bigint }> {
  const { rows } = await db.query<{
    merchant_id: string;
    name: string;
    payable_fen: bigint;
    transaction_id: bigint;
  }>(
    `select l.merchant_id, m.name, l.payable_fen, l.transaction_id
       from settlement_lines l join merchants m using (merchant_id)
      where l.statement_id = $1 and l.transaction_id is not null
      order by l.merchant_id`,
    [statementId],
  );
  const head = await db.query<{ business_date: string; department_id: string }>(
    `select business_date::text, department_id from settlement_statements where statement_id = $1`,
    [statementId],
  );
  const { business_date: day, department_id: department } = head.rows[0]!;
  const totalFen = rows.reduce((sum, r) => sum + r.payable_fen, 0n);
  const lines = [
    '序号,商户编号,商户名称,金额(元),金额(分),业务日期,结算单号,凭证号',
    ...rows.map((r, i) =>
      [
        String(i + 1),
        r.merchant_id,
        r.name,
        yuan(r.payable_fen),
        String(r.payable_fen),
        day,
        statementId,
        String(r.transaction_id),
      ]
        .map(csvField)
        .join(','),
    ),
    ['合计', String(rows.length), '', yuan(totalFen), String(totalFen), day, statementId, '']
      .map(csvField)
      .join(','),
  ];
  const bytes = Buffer.from(`\uFEFF${lines.join('\r\n')}\r\n`, 'utf8');
  const file = varPath('settlements', day, `${department}.csv`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, bytes, { mode: 0o640 });
  fs.renameSync(partial, file);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  return { file, sha256, lines: rows.length, totalFen };
}

/** The statement is settled once its journal is posted and its payout file written. */
export async function markSettled(
  db: Pick<Pool, 'query'>,
  input: { statementId: string; file: string; sha256: string },
): Promise<void> {
  await db.query(
    `update settlement_statements set state = 'settled', payout_file = $2, payout_sha256 = $3, settled_at = coalesce(settled_at, now())
      where statement_id = $1 and state in ('approved', 'settled')`,
    [input.statementId, input.file, input.sha256],
  );
}
