import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { stackConfig } from '../support/env.ts';
import { startTestWorker, type RunningWorker } from '../support/worker.ts';

// A task queue of this suite's own, so a worker started by another suite cannot make it look up.
const taskQueue = 'test-api-main';
let app: FastifyInstance;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  app = await buildApp({ ...stackConfig(), TEMPORAL_TASK_QUEUE: taskQueue }, pino({ level: 'warn' }));
  await app.ready();
});
afterAll(async () => {
  await worker?.stop();
  await app?.close();
});

/** Rows of these check ids only: other suites run self-checks of their own at the same time. */
async function countSelfChecks(checkIds: string[]): Promise<number> {
  const { rows } = await app.db.query<{ n: number }>(
    'select count(*)::int as n from system_self_checks where check_id = any($1::text[])',
    [checkIds],
  );
  return rows[0]!.n;
}
const refusedCheckIds = ['42', 'a b', 'x'];

describe('health', () => {
  test('reports every component with its version; degraded (503) while no worker polls', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    const body = response.json();
    const byName = Object.fromEntries(body.components.map((c: { name: string }) => [c.name, c]));
    expect(byName.postgres).toMatchObject({
      status: 'up',
      version: expect.stringMatching(/^PostgreSQL 18\./),
    });
    expect(byName.temporal).toMatchObject({ status: 'up', version: expect.stringMatching(/^1\.\d+/) });
    expect(byName.warehouse).toMatchObject({ status: 'up', version: expect.stringMatching(/^26\./) });
    expect(byName.worker).toMatchObject({ status: 'down', error: expect.stringContaining(taskQueue) });
    expect(response.statusCode).toBe(503);
    expect(body.status).toBe('degraded');
    expect(body.links.temporalWebUi).toMatch(/\/namespaces\/onecard\/workflows$/);
  });

  test('is up once a worker polls its task queue, and names its version', async () => {
    worker = await startTestWorker(taskQueue);
    // The server lists a poller once its first poll arrives, a moment after the worker starts.
    let response = await app.inject({ method: 'GET', url: '/health' });
    for (let attempt = 0; attempt < 20 && response.statusCode !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      response = await app.inject({ method: 'GET', url: '/health' });
    }
    expect(response.statusCode, response.body).toBe(200);
    const workerHealth = response.json().components.find((c: { name: string }) => c.name === 'worker');
    expect(workerHealth).toMatchObject({ status: 'up', version: '0.1.0' });
  });
});

describe('self-check route', () => {
  test('runs the workflow once per check id', async () => {
    const before = await countSelfChecks(['api-route-1']);
    const first = await app.inject({
      method: 'POST',
      url: '/api/self-checks',
      payload: { checkId: 'api-route-1' },
    });
    expect(first.statusCode).toBe(200);
    expect(first.json().workflowId).toBe('self-check/api-route-1');
    const again = await app.inject({
      method: 'POST',
      url: '/api/self-checks',
      payload: { checkId: 'api-route-1' },
    });
    expect(again.json()).toEqual(first.json());
    expect(await countSelfChecks(['api-route-1'])).toBe(before + 1);
    const list = await app.inject({ method: 'GET', url: '/api/self-checks' });
    expect(list.json().map((row: { id: string }) => row.id)).toContain('api-route-1');
  });

  test.each([
    ['a missing key', {}, 'invalid_request', "must have required property 'checkId'"],
    ['a wrong type', { checkId: 42 }, 'invalid_request', 'body/checkId must be string'],
    ['a bad character', { checkId: 'a b' }, 'invalid_request', 'body/checkId must match pattern'],
    [
      'an unknown field',
      { checkId: 'x', extra: 1 },
      'invalid_request',
      'must NOT have additional properties',
    ],
  ])('refuses %s with a 400 naming the field, and writes nothing', async (_case, payload, code, message) => {
    const response = await app.inject({ method: 'POST', url: '/api/self-checks', payload });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code, message: expect.stringContaining(message) });
    expect(await countSelfChecks(refusedCheckIds)).toBe(0);
  });

  test('refuses malformed JSON with a clear error', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/self-checks',
      headers: { 'content-type': 'application/json' },
      payload: '{"checkId": ',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('malformed_json');
  });
});

describe('processes route', () => {
  test('lists a process by its business key, newest first, with the count in X-Total-Count', async () => {
    await app.inject({ method: 'POST', url: '/api/self-checks', payload: { checkId: 'api-processes-1' } });
    const list = await app.inject({
      method: 'GET',
      url: '/api/processes?businessKey=self-check/api-processes-1&type=selfCheck&_start=0&_end=10',
    });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.headers['x-total-count']).toBe('1');
    expect(list.json()).toEqual([
      expect.objectContaining({
        workflowId: 'self-check/api-processes-1',
        type: 'selfCheck',
        status: 'Completed',
      }),
    ]);
  });

  test.each([
    ['a quote in a filter', "businessKey=a'b", 'businessKey'],
    ['an unknown type', 'type=dropTables', 'type'],
    ['a page bound that is no number', '_start=-1', '_start'],
    ['an unknown parameter', 'sql=1', 'additional'],
  ])('refuses %s with a 400 naming it', async (_case, query, field) => {
    const response = await app.inject({ method: 'GET', url: `/api/processes?${query}` });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(field);
  });
});

describe('documents and errors', () => {
  test('serves the OpenAPI document with every route', async () => {
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/health', '/api/self-checks']));
  });

  test('answers an unknown route with the one error format', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: { code: 'not_found', message: 'no route GET /api/nothing-here' },
    });
  });
});
