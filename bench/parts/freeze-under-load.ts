// The freeze half of `npm run bench -- workflows`: 挂失 reports timed from the API call until the card's
// priority entry is on the blacklist terminals fetch, while 1,000 card replacements (补卡) run on the same
// worker, each looking at its silent terminals every few seconds. Then the one silent terminal checks in,
// every replacement moves its card, and the ledger is checked.
import type { Pool } from '../../core/db/pool.ts';
import { ensureMerchantAccount, ensureSchoolUnit, issueCard } from '../../core/ledger/registry.ts';
import { inBatches, post } from './driver.ts';

export interface FreezeUnderLoad {
  replacements: number;
  reports: number;
  freezeToBlacklistP50Ms: number;
  freezeToBlacklistP99Ms: number;
  replacementsCompletedS: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export async function measureFreezeUnderLoad(options: {
  db: Pool;
  apiUrl: string;
  replacements: number;
  reports: number;
  /** How often each waiting replacement looks at its silent terminals (15 min in production). */
  collectionCheckS: number;
  concurrency: number;
  say: (line: string) => void;
}): Promise<FreezeUnderLoad> {
  const { db, apiUrl, say } = options;
  const schoolId = `FRZ-${Date.now().toString(36).toUpperCase()}`;
  const terminalId = `${schoolId}-POS1`;
  await db.query(
    `insert into schools (school_id, name, district, kind) values ($1, '挂失压测学校', '压测区', 'middle')`,
    [schoolId],
  );
  await ensureSchoolUnit(db, schoolId);
  await db.query(
    `insert into merchants (merchant_id, school_id, name, kind) values ($1, $2, '食堂', 'canteen')`,
    [`${schoolId}-CT`, schoolId],
  );
  await ensureMerchantAccount(db, `${schoolId}-CT`);
  await db.query(
    `insert into terminals (terminal_id, school_id, merchant_id, kind) values ($1, $2, $3, 'pos')`,
    [terminalId, schoolId, `${schoolId}-CT`],
  );
  const count = options.replacements + options.reports;
  say(`freeze: preparing ${count} cards`);
  const { rows: holders } = await db.query<{ cardholder_id: bigint }>(
    `insert into cardholders (school_id, kind, person_no, name, gender)
     select $1, 'student', 'F' || g, '学生' || g, 'U' from generate_series(1, $2) g returning cardholder_id`,
    [schoolId, count],
  );
  const cards = holders.map((h, i) => ({
    cardholderId: h.cardholder_id,
    cardNo: `F${String(i).padStart(11, '0')}`,
  }));
  await inBatches(cards, options.concurrency, (card) =>
    issueCard(db, {
      cardNo: card.cardNo,
      cardholderId: card.cardholderId,
      categoryId: 1,
      expiresOn: '2099-12-31',
    }),
  );
  const replaced = cards.slice(0, options.replacements);
  const lost = cards.slice(options.replacements);

  say(
    `freeze: starting ${replaced.length} replacements, each looking at its silent POS every ${options.collectionCheckS} s`,
  );
  await inBatches(replaced, options.concurrency, async (card) => {
    const answer = await post(`${apiUrl}/api/cards/${card.cardNo}/replacements`, {
      requestId: 'bench',
      operatorId: 'bench-office',
      reason: '压测补卡',
      offlineWindowS: 3_600,
      collectionCheckS: options.collectionCheckS,
    });
    if (answer.status !== 202) throw new Error(`replacement ${card.cardNo}: ${answer.status} ${answer.body}`);
  });
  await waitFor(
    db,
    `select count(*)::int as n from card_replacements where old_card_no = any($1)`,
    [replaced.map((c) => c.cardNo)],
    replaced.length,
  );

  say(
    `freeze: ${lost.length} loss reports, ${Math.min(10, options.concurrency)} at a time, each timed until listed`,
  );
  const latencies: number[] = [];
  await inBatches(lost, Math.min(10, options.concurrency), async (card) => {
    const started = performance.now();
    const answer = await post(`${apiUrl}/api/cards/${card.cardNo}/loss-reports`, {
      requestId: 'bench',
      channel: 'web',
      operatorId: 'bench-parent',
    });
    if (answer.status !== 202) throw new Error(`loss report ${card.cardNo}: ${answer.status} ${answer.body}`);
    for (let polls = 0; ; polls++) {
      const { rows } = await db.query(
        `select 1 from blacklist_entries where card_no = $1 and priority and removed_version is null`,
        [card.cardNo],
      );
      if (rows[0]) break;
      if (polls > 12_000) throw new Error(`card ${card.cardNo} never reached the blacklist`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    latencies.push(performance.now() - started);
  });
  latencies.sort((a, b) => a - b);

  say('freeze: the POS checks in; every replacement moves its card');
  const finishing = performance.now();
  const checkIn = await post(`${apiUrl}/api/terminals/${terminalId}/collection-check-ins`, {
    pendingRecords: 0,
  });
  if (checkIn.status !== 200) throw new Error(`check-in: ${checkIn.status} ${checkIn.body}`);
  await waitFor(
    db,
    `select count(*)::int as n from card_replacements where old_card_no = any($1) and state = 'transferred'`,
    [replaced.map((c) => c.cardNo)],
    replaced.length,
  );
  return {
    replacements: replaced.length,
    reports: lost.length,
    freezeToBlacklistP50Ms: Math.round(quantile(latencies, 0.5)),
    freezeToBlacklistP99Ms: Math.round(quantile(latencies, 0.99)),
    replacementsCompletedS: Number(((performance.now() - finishing) / 1000).toFixed(1)),
  };
}

async function waitFor(db: Pool, sql: string, params: unknown[], want: number): Promise<void> {
  const started = performance.now();
  for (;;) {
    const { rows } = await db.query<{ n: number }>(sql, params);
    if (rows[0]!.n >= want) return;
    if (performance.now() - started > 600_000) throw new Error(`only ${rows[0]!.n} of ${want} after 600 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
