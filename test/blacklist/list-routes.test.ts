import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { stackConfig } from '../support/env.ts';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp({ ...stackConfig(), TEMPORAL_TASK_QUEUE: 'test-blacklist' }, pino({ level: 'error' }));
});
afterAll(async () => {
  await app?.close();
});

const card = () => randomBytes(6).toString('hex').toUpperCase();
const entryOf = async (cardNo: string) =>
  (
    await app.db.query(
      `select level, batch_id, removed_version is not null as removed from blacklist_entries where card_no = $1`,
      [cardNo],
    )
  ).rows[0];

describe('the two levels through the API: batch lists and scattered entries', () => {
  test('a batch lists its cards under one version; a scattered entry is listed, repeated, and taken off', async () => {
    const batchId = `grad-${randomBytes(4).toString('hex')}`;
    const cards = [card(), card(), card()];
    const batch = await app.inject({
      method: 'POST',
      url: '/api/blacklist/batches',
      payload: { batchId, reason: '毕业离校', cardNos: cards },
    });
    expect(batch.statusCode, batch.body).toBe(201);
    expect(batch.json()).toMatchObject({ listed: 3 });
    expect(await entryOf(cards[0]!)).toEqual({ level: 'batch', batch_id: batchId, removed: false });
    const twice = await app.inject({
      method: 'POST',
      url: '/api/blacklist/batches',
      payload: { batchId, reason: '毕业离校', cardNos: cards },
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('batch_already_exists');

    const one = card();
    const put = () =>
      app.inject({ method: 'PUT', url: `/api/blacklist/entries/${one}`, payload: { reason: '违规使用' } });
    const first = (await put()).json();
    expect(first).toMatchObject({ listed: true });
    expect((await put()).json()).toEqual({ version: first.version, listed: false });
    const off = await app.inject({
      method: 'DELETE',
      url: `/api/blacklist/entries/${one}`,
      payload: { reason: '误报' },
    });
    expect(off.json()).toMatchObject({ unlisted: true });
    expect(await entryOf(one)).toEqual({ level: 'scattered', batch_id: null, removed: true });
  });

  test('bad input gets a 400 naming the field and lists nothing', async () => {
    const one = card();
    for (const [payload, field] of [
      [{ reason: 'r', cardNos: [one] }, 'batchId'],
      [{ batchId: 'b b', reason: 'r', cardNos: [one] }, 'batchId'],
      [{ batchId: 'b', reason: 'r', cardNos: [] }, 'cardNos'],
      [{ batchId: 'b', reason: 'r', cardNos: ['not a card'] }, 'cardNos'],
      [{ batchId: 'b', cardNos: [one] }, 'reason'],
    ] as const) {
      const answer = await app.inject({ method: 'POST', url: '/api/blacklist/batches', payload });
      expect(answer.statusCode, JSON.stringify(payload)).toBe(400);
      expect(answer.json().error.message).toContain(field);
    }
    const noReason = await app.inject({ method: 'PUT', url: `/api/blacklist/entries/${one}`, payload: {} });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.message).toContain('reason');
    const badCard = await app.inject({
      method: 'PUT',
      url: '/api/blacklist/entries/xyz',
      payload: { reason: 'r' },
    });
    expect(badCard.statusCode).toBe(400);
    expect(badCard.json().error.message).toContain('cardNo');
    expect(await entryOf(one)).toBeUndefined();
  });
});
