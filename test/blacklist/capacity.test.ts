import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { BlacklistRefusal, listCard } from '../../core/blacklist/entries.ts';
import { blacklistCapacityMax, inBlacklistWrite, nextVersion } from '../../core/blacklist/versions.ts';
import { stackConfig } from '../support/env.ts';
import { createOwnDatabase } from '../support/own-database.ts';

let app: FastifyInstance;
let db: Pool;
let own: Awaited<ReturnType<typeof createOwnDatabase>>;
const batchId = `capacity-${randomBytes(4).toString('hex')}`;
const prefix = `Q${randomBytes(2).toString('hex').toUpperCase()}`;

beforeAll(async () => {
  // A database of its own: a list filled to its capacity would refuse the other suites' freezes.
  own = await createOwnDatabase('blacklist_capacity');
  db = createPool(own.url, { max: 4 });
  app = await buildApp(
    { ...stackConfig(), DATABASE_URL: own.url, TEMPORAL_TASK_QUEUE: 'test-blacklist' },
    pino({ level: 'error' }),
  );
});
afterAll(async () => {
  await app?.close();
  await db?.end();
  await own?.drop();
});

describe('blacklist at capacity (300,000 entries, the POS limit)', () => {
  test('the full list carries every entry, a delta stays small, and one entry more is refused', async () => {
    const live = await db.query<{ n: number }>(
      `select count(*)::int as n from blacklist_entries where removed_version is null`,
    );
    // Generated set-based in SQL: the batch fills the list up to its capacity exactly.
    expect(live.rows[0]!.n).toBe(0);
    const generated = blacklistCapacityMax - live.rows[0]!.n;
    const version = await inBlacklistWrite(db, async (client) => {
      const v = await nextVersion(client);
      await client.query(`insert into blacklist_batches (batch_id, reason) values ($1, 'capacity test')`, [
        batchId,
      ]);
      await client.query(
        `insert into blacklist_entries (card_no, level, batch_id, reason, added_version)
         select $1 || lpad(g::text, 11, '0'), 'batch', $2, 'capacity test', $3 from generate_series(1, $4) g`,
        [prefix, batchId, v, generated],
      );
      return v;
    });
    expect(generated).toBe(300_000);

    const full = await app.inject({ method: 'GET', url: '/api/terminals/POS-CAPACITY/blacklist?since=0' });
    expect(full.statusCode).toBe(200);
    const list = full.json() as { kind: string; add: string[]; version: number };
    expect(list.kind).toBe('full');
    expect(list.add.length).toBe(blacklistCapacityMax);
    expect(new Set(list.add).size).toBe(blacklistCapacityMax);
    expect(list.add).toContain(`${prefix}${String(generated).padStart(11, '0')}`);

    await expect(listCard(db, { cardNo: `${prefix}X`, reason: 'over', priority: true })).rejects.toThrow(
      BlacklistRefusal,
    );

    // One freed place, one freeze: the terminal that holds the full list gets a delta of one card.
    await db.query(`delete from blacklist_entries where card_no = $1`, [`${prefix}${'1'.padStart(11, '0')}`]);
    const frozen = await listCard(db, { cardNo: `${prefix}Y`, reason: 'lost', priority: true });
    expect(frozen.version).toBeGreaterThan(version);
    const delta = await app.inject({
      method: 'GET',
      url: `/api/terminals/POS-CAPACITY/blacklist?since=${list.version}`,
    });
    const small = delta.json() as { kind: string; add: string[]; remove: string[] };
    expect(small.kind).toBe('delta');
    expect(small.add).toContain(`${prefix}Y`);
    expect(small.add.length + small.remove.length).toBeLessThan(50);
  });
});
