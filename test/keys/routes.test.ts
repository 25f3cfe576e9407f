import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { openSchoolKeyExport, type SchoolKeyExport } from '../../core/keys/exchange.ts';
import { loadKek, unwrapKey } from '../../core/keys/kek.ts';
import { varPath } from '../../core/paths.ts';
import { stackConfig } from '../support/env.ts';

let app: FastifyInstance;
const logLines: string[] = [];
const tag = randomBytes(3).toString('hex').toUpperCase();
const schoolId = `KR-${tag}`;
let seq = 0;
const rid = () => `${tag}-${++seq}`;

async function post(url: string, body: Record<string, unknown>) {
  const response = await app.inject({
    method: 'POST',
    url,
    payload: { requestId: rid(), operatorId: 'bureau-admin', ...body },
  });
  return { status: response.statusCode, body: response.json(), raw: response.body };
}

beforeAll(async () => {
  // Capture everything the API logs, to show no key byte ever reaches it.
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  app = await buildApp(stackConfig(), logger);
  await app.ready();
  const opened = await post('/api/card-office/schools', {
    schoolId,
    name: '密钥接口学校',
    district: '测试区',
    kind: 'primary',
    algorithm: '3des',
    administrator: { staffNo: 'A1', name: '管理员', gender: 'M' },
  });
  expect(opened.status, JSON.stringify(opened.body)).toBe(200);
});
afterAll(async () => app?.close());

describe('key routes', () => {
  test('list, rotate, export and PSAM answer with versions and check values only', async () => {
    const list = await app.inject({ method: 'GET', url: '/api/keys/masters' });
    expect(list.json().some((k: { algorithm: string }) => k.algorithm === '3des')).toBe(true);
    const rotated = await post('/api/keys/masters/rotate', { purpose: 'external_auth', algorithm: '3des' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.key).toMatchObject({
      purpose: 'external_auth',
      status: 'active',
      checkValue: expect.stringMatching(/^[0-9A-F]{6}$/),
    });
    const generateAgain = await post('/api/keys/masters/generate', { purpose: 'tac', algorithm: '3des' });
    expect(generateAgain.status).toBe(409);
    expect(generateAgain.body.error.code).toBe('key_already_exists');
    const passphrase = 'a school passphrase of some length';
    const exported = await post('/api/keys/exports', { schoolId, algorithm: '3des', passphrase });
    expect(exported.status).toBe(200);
    expect(openSchoolKeyExport(exported.body as SchoolKeyExport, passphrase).size).toBe(5);
    const psam = await post('/api/keys/psams', {
      psamNo: randomBytes(6).toString('hex').toUpperCase(),
      schoolId,
      algorithm: '3des',
    });
    expect(psam.status).toBe(200);
    expect(Object.keys(psam.body).sort()).toEqual(['outcome', 'psamNo', 'replayed', 'versions']);
  });

  test.each([
    [
      'an unknown purpose',
      '/api/keys/masters/rotate',
      { purpose: 'coffee', algorithm: 'sm4' },
      400,
      'body/purpose must be equal to one of the allowed values',
    ],
    [
      'an unknown algorithm',
      '/api/keys/masters/rotate',
      { purpose: 'tac', algorithm: 'aes' },
      400,
      'body/algorithm must be equal to one of the allowed values',
    ],
    [
      'a short passphrase',
      '/api/keys/exports',
      { schoolId, algorithm: 'sm4', passphrase: 'short' },
      400,
      'passphrase must be at least 16 characters',
    ],
    [
      'a lower-case PSAM number',
      '/api/keys/psams',
      { psamNo: 'abcdefabcdef', schoolId, algorithm: 'sm4' },
      400,
      'body/psamNo must match pattern',
    ],
  ])('%s is refused and named', async (_name, url, body, status, message) => {
    const r = await post(url, body);
    expect(r.status).toBe(status);
    expect(r.body.error.message).toContain(message);
  });

  test('no key byte reaches the API log or the database audit', async () => {
    const kek = JSON.parse(fs.readFileSync(varPath('keys', 'kek.json'), 'utf8')).keyHex as string;
    // Every master key in plain, unwrapped here only to look for it where it must not be.
    const { rows } = await app.db.query<{
      purpose: string;
      algorithm: string;
      version: number;
      wrapped: Buffer;
      kek_id: string;
    }>(`select purpose, algorithm, version, wrapped, kek_id from key_masters`);
    const kekNow = loadKek();
    const plain = rows.map((r) =>
      unwrapKey(kekNow, r.wrapped, `master/${r.purpose}/${r.algorithm}/v${r.version}`, r.kek_id)
        .bytes()
        .toString('hex'),
    );
    expect(plain.length).toBeGreaterThan(0);
    const log = logLines.join('\n').toLowerCase();
    expect(logLines.length).toBeGreaterThan(0);
    expect(log).not.toContain(kek);
    for (const key of plain) expect(log).not.toContain(key);
    const { rows: audit } = await app.db.query(`select detail::text as d from key_audit`);
    expect(audit.map((a) => a.d).join()).not.toContain(kek);
  });
});
