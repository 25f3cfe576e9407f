// Retention of published outbox events, against a real PostgreSQL database of its own (so no other suite's
// events are aged or deleted) and a warehouse process of its own (so the shared warehouse's marts never see
// these rows).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { createWarehouseClient, type ClickHouseClient } from '../../core/warehouse-client.ts';
import { pruneOutbox, relayAll, relayLag } from '../../warehouse/relay/relay.ts';
import { pruneSwipes, recordSwipes } from '../../api/routes/swipes/store.ts';
import { applyWarehouseSchema } from '../../warehouse/schema/apply.ts';
import { startWarehouse, type StartedWarehouse } from '../warehouse/start-warehouse.ts';
import { createOwnDatabase } from '../support/own-database.ts';

let own: Awaited<ReturnType<typeof createOwnDatabase>>;
let db: Pool;
let wh: StartedWarehouse;
let warehouse: ClickHouseClient;
const day = 86_400;

beforeAll(async () => {
  own = await createOwnDatabase('outbox_retention');
  db = createPool(own.url, { max: 4 });
  wh = await startWarehouse({ systemPassword: 'retention' });
  warehouse = createWarehouseClient(new URL(wh.url).origin.replace('http://', 'http://onecard:retention@'));
  await applyWarehouseSchema(warehouse);
  // What the migrations wrote (accounts, dimensions): relayed, aged and deleted, so the outbox starts empty.
  await relayAll(db, warehouse);
  await db.query(`update outbox set created_at = created_at - interval '60 days'`);
  await pruneOutbox(db, { ageS: day });
  expect((await db.query('select count(*)::int as n from outbox')).rows).toEqual([{ n: 0 }]);
});
afterAll(async () => {
  await warehouse?.close();
  await wh?.stop();
  await db?.end();
  await own?.drop();
});

/** Swipe events written straight into the outbox, `ageDays` old; `kind` teleport is malformed. */
async function events(n: number, ageDays: number, kind = 'gate_in'): Promise<string[]> {
  const { rows } = await db.query<{ outbox_id: bigint }>(
    `insert into outbox (topic, aggregate_key, payload, created_at)
     select 'swipe.recorded', 'RT-G1',
            jsonb_build_object('terminalId', 'RT-G1', 'terminalSeq', g, 'cardNo', 'RT' || g, 'kind', $2::text,
                               'swipedAt', now() - make_interval(days => $3), 'schoolId', 'RT'),
            now() - make_interval(days => $3)
       from generate_series((select coalesce(max(outbox_id), 0) from outbox) + 1,
                            (select coalesce(max(outbox_id), 0) from outbox) + $1) g
     returning outbox_id`,
    [n, kind, ageDays],
  );
  return rows.map((r) => r.outbox_id.toString());
}
const remaining = async (ids: string[]) =>
  (await db.query<{ n: number }>(`select count(*)::int as n from outbox where outbox_id = any($1)`, [ids]))
    .rows[0]!.n;

test('retention deletes published events past their age in bounded batches, keeping rejects, young and unpublished ones', async () => {
  const oldPublished = await events(7, 30);
  const oldRejected = await events(1, 30, 'teleport');
  const youngPublished = await events(2, 0);
  const relayed = await relayAll(db, warehouse);
  expect(relayed).toMatchObject({ relayed: 9, rejected: 1 });
  const oldUnpublished = await events(2, 30);

  // One batch of three: at most three rows go per call with these limits.
  expect(await pruneOutbox(db, { ageS: day, batchMax: 3, batchesMax: 1 })).toEqual({
    deleted: 3,
    batches: 1,
  });
  expect(await remaining(oldPublished)).toBe(4);
  const r = await pruneOutbox(db, { ageS: day, batchMax: 3 });
  expect(r.deleted).toBe(4);
  expect(await remaining(oldPublished)).toBe(0);
  expect(await remaining(oldRejected)).toBe(1);
  expect(await remaining(youngPublished)).toBe(2);
  expect(await remaining(oldUnpublished)).toBe(2);
  expect((await relayLag(db)).unpublished).toBe(2);

  // The unpublished old events still reach the warehouse, and are deleted only once published.
  expect(await relayAll(db, warehouse)).toMatchObject({ relayed: 2, rejected: 0 });
  expect((await pruneOutbox(db, { ageS: day })).deleted).toBe(2);
  const rs = await warehouse.query({
    query: 'select count() as n from onecard.swipes final',
    format: 'JSONEachRow',
  });
  expect(await rs.json()).toEqual([{ n: 11 }]); // 9 + 2 swipes; the migrations wrote none
  const reasons = await db.query(`select reason from outbox_rejects where outbox_id = any($1)`, [
    oldRejected,
  ]);
  expect(reasons.rows).toEqual([{ reason: expect.stringMatching(/teleport/) }]);
  await expect(pruneOutbox(db, { ageS: 60 })).rejects.toThrow(/at least/);
});

test('swipe retention forgets old swipes in PostgreSQL only; one sent again is stored, and the warehouse keeps one copy', async () => {
  await db.query(
    `insert into schools (school_id, name, district, kind) values ('RS', '保留学校', '南区', 'middle')`,
  );
  await db.query(`insert into terminals (terminal_id, school_id, kind) values ('RS-G1', 'RS', 'gate')`);
  const at = new Date(Date.now() - 3_600_000).toISOString();
  const record = (seq: number) => ({ terminalSeq: seq, cardNo: `RS${seq}`, kind: 'gate_in', at });
  expect(await recordSwipes(db, 'RS-G1', [1, 2, 3, 4, 5].map(record))).toMatchObject({
    outcome: 'ok',
    stored: 5,
  });
  await db.query(
    `update swipes set received_at = now() - interval '100 days' where terminal_id = 'RS-G1' and terminal_seq <= 3`,
  );
  expect(await pruneSwipes(db, { ageS: 90 * day, batchMax: 2 })).toEqual({ deleted: 3, batches: 2 });
  const kept = await db.query(
    `select terminal_seq::int as seq from swipes where terminal_id = 'RS-G1' order by 1`,
  );
  expect(kept.rows).toEqual([{ seq: 4 }, { seq: 5 }]);
  await expect(pruneSwipes(db, { ageS: day })).rejects.toThrow(/at least/);

  // Sent again after its row went: stored again here; in the warehouse the key keeps one copy.
  expect(await recordSwipes(db, 'RS-G1', [record(1), record(4)])).toMatchObject({ stored: 1, duplicates: 1 });
  await relayAll(db, warehouse);
  const rs = await warehouse.query({
    query: `select terminal_seq, count() as n from onecard.swipes final where terminal_id = 'RS-G1' group by terminal_seq order by terminal_seq`,
    format: 'JSONEachRow',
  });
  expect(await rs.json()).toEqual([1, 2, 3, 4, 5].map((seq) => ({ terminal_seq: seq, n: 1 })));
});
