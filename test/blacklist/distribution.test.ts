import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { createPool, type Pool } from '../../core/db/pool.ts';
import { listBatch, listCard, pruneBlacklist, unlistCard } from '../../core/blacklist/entries.ts';
import { alertSilentTerminals, fetchBlacklist, logPriorityPush } from '../../core/blacklist/distribution.ts';
import { createCards, createSchool } from '../ledger/fixture.ts';
import { stackConfig } from '../support/env.ts';

let app: FastifyInstance;
let db: Pool;

beforeAll(async () => {
  const config = stackConfig();
  db = createPool(config.DATABASE_URL, { max: 4 });
  app = await buildApp({ ...config, TEMPORAL_TASK_QUEUE: 'test-blacklist' }, pino({ level: 'error' }));
});
afterAll(async () => {
  await app?.close();
  await db?.end();
});

const unique = (prefix: string) => `${prefix}${randomBytes(5).toString('hex').toUpperCase()}`;
const fetchList = (terminalId: string, since: number | string) =>
  app.inject({ method: 'GET', url: `/api/terminals/${terminalId}/blacklist?since=${since}` });
const confirm = (terminalId: string, body: unknown) =>
  app.inject({
    method: 'POST',
    url: `/api/terminals/${terminalId}/blacklist/confirmations`,
    payload: body as Record<string, unknown>,
  });
/** A terminal's log; the priority pushes of other suites' freezes (sent to every terminal) left out. */
const logOf = async (terminalId: string, kinds = ['full', 'delta', 'confirmation', 'alert']) =>
  (
    await db.query(
      `select kind from blacklist_distributions where terminal_id = $1 and kind = any($2) order by distribution_id`,
      [terminalId, kinds],
    )
  ).rows.map((r) => r.kind as string);

describe('blacklist distribution (黑名单下发)', () => {
  test('a terminal gets the full list first, then deltas from the version it confirmed, freezes first', async () => {
    const terminal = unique('POS-');
    const gone = unique('D');
    await listCard(db, { cardNo: gone, reason: 'test', priority: false });
    const first = await fetchList(terminal, 0);
    expect(first.statusCode, first.body).toBe(200);
    const full = first.json();
    expect(full).toMatchObject({ kind: 'full', fromVersion: 0, remove: [] });
    expect(full.add).toContain(gone);
    expect((await confirm(terminal, { version: full.version })).json()).toEqual({
      terminalId: terminal,
      confirmedVersion: full.version,
    });

    const scattered = unique('A');
    const batch = [unique('B'), unique('B')];
    await listBatch(db, { batchId: unique('batch-'), reason: '毕业批量', cardNos: batch });
    await listCard(db, { cardNo: scattered, reason: 'lost', priority: true });
    await unlistCard(db, { cardNo: gone, reason: 'found' });
    // Listed and taken off between the two versions: never sent at all.
    const flicker = unique('F');
    await listCard(db, { cardNo: flicker, reason: 'test', priority: false });
    await unlistCard(db, { cardNo: flicker, reason: 'test' });

    const next = (await fetchList(terminal, full.version)).json();
    expect(next).toMatchObject({ kind: 'delta', fromVersion: full.version });
    expect(next.add).toEqual(expect.arrayContaining([scattered, ...batch]));
    expect(next.add.indexOf(scattered)).toBeLessThan(next.add.indexOf(batch[0]));
    expect(next.add).not.toContain(flicker);
    expect(next.remove).toContain(gone);
    expect(next.remove).not.toContain(flicker);
    await confirm(terminal, { version: next.version });
    // An old confirmation arriving late changes nothing.
    expect((await confirm(terminal, { version: full.version })).json().confirmedVersion).toBe(next.version);
    expect(await logOf(terminal)).toEqual(['full', 'confirmation', 'delta', 'confirmation', 'confirmation']);

    // A freeze's priority push reaches every terminal the blacklist knows, this one included.
    const pushed = await logPriorityPush(db, { version: next.version });
    expect(pushed.terminals).toBeGreaterThanOrEqual(1);
    expect(await logOf(terminal, ['priority'])).toContain('priority');
  });

  test('a terminal too far behind gets the full list', async () => {
    const terminal = unique('POS-');
    const start = await fetchBlacklist(db, { terminalId: terminal, since: 0 });
    await listCard(db, { cardNo: unique('X'), reason: 'test', priority: false });
    await listCard(db, { cardNo: unique('X'), reason: 'test', priority: false });
    const behind = await fetchBlacklist(db, {
      terminalId: terminal,
      since: start.version,
      deltaVersionsMax: 1,
    });
    expect(behind.kind).toBe('full');
    const near = await fetchBlacklist(db, {
      terminalId: terminal,
      since: start.version,
      deltaVersionsMax: 1_000,
    });
    expect(near.kind).toBe('delta');
    expect(near.add.length).toBeGreaterThanOrEqual(2);
  });

  test('pruning takes off cancelled cards past the offline window and expired cards, with a version', async () => {
    const school = await createSchool(db);
    const [cancelledLong, cancelledNow, expired, frozen] = await createCards(db, school, 4);
    for (const cardNo of [cancelledLong, cancelledNow, expired, frozen])
      await listCard(db, { cardNo: cardNo!, reason: 'test', priority: false });
    await db.query(
      `update cards set status = 'cancelled', status_changed_at = now() - interval '4 days' where card_no = $1`,
      [cancelledLong],
    );
    await db.query(`update cards set status = 'cancelled', status_changed_at = now() where card_no = $1`, [
      cancelledNow,
    ]);
    await db.query(`update cards set expires_on = current_date - 1 where card_no = $1`, [expired]);
    await db.query(`update cards set status = 'frozen' where card_no = $1`, [frozen]);
    // Another suite's upkeep may prune them first: what counts is that they are off, with their reason.
    await pruneBlacklist(db, { offlineWindowMs: 72 * 3_600_000, now: new Date() });
    const { rows } = await db.query(
      `select card_no, removed_reason, removed_version is not null as removed from blacklist_entries
        where card_no = any($1) order by card_no`,
      [[cancelledLong, cancelledNow, expired, frozen]],
    );
    const byCard = Object.fromEntries(rows.map((r) => [r.card_no, r.removed_reason]));
    expect(byCard).toEqual({
      [cancelledLong!]: 'cancelled_past_offline_window',
      [cancelledNow!]: null,
      [expired!]: 'card_expired',
      [frozen!]: null,
    });
  });

  test('a terminal that does not confirm a change in time is alerted once; confirming clears it', async () => {
    const prefix = unique('ALERT-');
    const terminal = `${prefix}-POS`;
    const answer = await fetchBlacklist(db, { terminalId: terminal, since: 0 });
    await confirm(terminal, { version: answer.version });
    await listCard(db, { cardNo: unique('S'), reason: 'test', priority: false });
    const later = new Date(Date.now() + 60_000);
    const alerted = await alertSilentTerminals(db, {
      confirmWithinMs: 30_000,
      now: later,
      terminalIdPrefix: prefix,
    });
    expect(alerted.map((a) => a.terminalId)).toContain(terminal);
    const again = await alertSilentTerminals(db, {
      confirmWithinMs: 30_000,
      now: later,
      terminalIdPrefix: prefix,
    });
    expect(again.map((a) => a.terminalId)).not.toContain(terminal);
    const current = (await fetchList(terminal, answer.version)).json();
    await confirm(terminal, { version: current.version });
    expect(await logOf(terminal)).toEqual(['full', 'confirmation', 'alert', 'delta', 'confirmation']);
  });

  test('bad input gets a 4xx naming the field and logs nothing', async () => {
    const terminal = unique('POS-');
    for (const [since, field] of [
      ['-1', 'since'],
      ['abc', 'since'],
      ['1.5', 'since'],
    ] as const) {
      const answer = await fetchList(terminal, since);
      expect(answer.statusCode).toBe(400);
      expect(answer.json().error.message).toContain(field);
    }
    const missing = await app.inject({ method: 'GET', url: `/api/terminals/${terminal}/blacklist` });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toContain('since');
    const badTerminal = await fetchList('bad%20id', 0);
    expect(badTerminal.statusCode).toBe(400);
    expect(badTerminal.json().error.message).toContain('terminalId');
    const ahead = await fetchList(terminal, 999_999_999_999);
    expect(ahead.statusCode).toBe(409);
    expect(ahead.json().error.code).toBe('version_is_ahead');
    for (const [body, field] of [
      [{}, 'version'],
      [{ version: 'x' }, 'version'],
      [{ version: -1 }, 'version'],
      [{ version: 1, extra: true }, 'additional'],
    ] as const) {
      const answer = await confirm(terminal, body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(400);
      expect(answer.json().error.message).toContain(field);
    }
    expect((await confirm(terminal, { version: 999_999_999_999 })).statusCode).toBe(409);
    expect(await logOf(terminal, ['full', 'delta', 'confirmation', 'alert', 'priority'])).toEqual([]);
  });
});
