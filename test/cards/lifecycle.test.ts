import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { stackConfig } from '../support/env.ts';

let app: FastifyInstance;
const tag = randomBytes(3).toString('hex').toUpperCase();
const schoolId = `CO-${tag}`;
let seq = 0;
const rid = () => `${tag}-${++seq}`;
const op = { operatorId: 'office-1' };

async function post(url: string, body: Record<string, unknown>) {
  const response = await app.inject({ method: 'POST', url, payload: { requestId: rid(), ...op, ...body } });
  return { status: response.statusCode, body: response.json(), headers: response.headers };
}

async function newHolder(personNo: string, extra: Record<string, unknown> = {}) {
  const r = await post('/api/card-office/cardholders', {
    schoolId,
    personNo,
    name: '张三',
    gender: 'M',
    identityCode: 'student',
    ...extra,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.cardholderId as number;
}

async function issue(cardholderId: number, extra: Record<string, unknown> = {}) {
  const r = await post('/api/card-office/cards', { cardholderId, pin: '123456', ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.cardNo as string;
}

async function card(cardNo: string) {
  return (await app.inject({ method: 'GET', url: `/api/card-office/cards/${cardNo}` })).json();
}

beforeAll(async () => {
  app = await buildApp(stackConfig(), pino({ level: 'warn' }));
  await app.ready();
  const opened = await post('/api/card-office/schools', {
    schoolId,
    name: '卡务测试中学',
    district: '测试区',
    kind: 'middle',
    administrator: { staffNo: `A-${tag}`, name: '管理员', gender: 'F' },
  });
  expect(opened.status, JSON.stringify(opened.body)).toBe(200);
});
afterAll(async () => app?.close());

describe('organisation', () => {
  test('opening a school makes its accounting unit and its first administrator; a repeat replays', async () => {
    const { rows } = await app.db.query(`select kind from accounting_units where unit_id = $1`, [schoolId]);
    expect(rows[0]).toEqual({ kind: 'school' });
    const body = {
      requestId: `open-${tag}`,
      ...op,
      schoolId: `${schoolId}-2`,
      name: '第二中学',
      district: '测试区',
      kind: 'primary',
      administrator: { staffNo: 'A1', name: '管理员', gender: 'M' },
    };
    const first = await app.inject({ method: 'POST', url: '/api/card-office/schools', payload: body });
    const again = await app.inject({ method: 'POST', url: '/api/card-office/schools', payload: body });
    expect(first.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...first.json(), replayed: true });
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await app.inject({
      method: 'POST',
      url: '/api/card-office/schools',
      payload: { ...body, name: '别的名字' },
    });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('exists_with_different_content');
    const { requestId: _first, ...sameSchool } = body;
    const dup = await post('/api/card-office/schools', sameSchool);
    expect(dup.body.error?.code).toBe('school_already_exists');
  });

  test('campuses and multi-level departments; a parent of another school is refused', async () => {
    expect(
      (await post('/api/card-office/campuses', { campusId: `${schoolId}-E`, schoolId, name: '东校区' }))
        .status,
    ).toBe(200);
    const grade = await post('/api/card-office/departments', {
      departmentId: `${schoolId}-G7`,
      schoolId,
      name: '七年级',
      campusId: `${schoolId}-E`,
    });
    expect(grade.status).toBe(200);
    const klass = await post('/api/card-office/departments', {
      departmentId: `${schoolId}-G7C1`,
      schoolId,
      name: '七年级一班',
      parentDepartmentId: `${schoolId}-G7`,
    });
    expect(klass.status).toBe(200);
    const stray = await post('/api/card-office/departments', {
      departmentId: `${schoolId}-X`,
      schoolId,
      name: '错',
      parentDepartmentId: 'NO-SUCH-DEPT',
    });
    expect(stray.status).toBe(404);
    expect(stray.body.error.message).toContain('NO-SUCH-DEPT');
  });

  test('identities with parameter groups and categories with subsidies and terminal bars', async () => {
    const identity = await post('/api/card-office/identities', {
      identityCode: `boarder_${tag.toLowerCase()}`,
      kind: 'student',
      name: '住校生',
      parameterGroup: { defaultCategoryId: 1, validityYears: 3, depositFen: 2000 },
    });
    expect(identity.status).toBe(200);
    const category = await post('/api/card-office/categories', {
      categoryId: 90,
      name: '住校生卡',
      subsidyAmountFen: 15000,
      perTxLimitFen: 3000,
      dailyLimitFen: 8000,
    });
    expect(category.status).toBe(200);
    const { rows } = await app.db.query(
      `select subsidy_amount_fen from card_categories where category_id = 90`,
    );
    expect(rows[0].subsidy_amount_fen).toBe(15000n);
  });

  test.each([
    [
      'category 121',
      '/api/card-office/categories',
      { categoryId: 121, name: 'x' },
      400,
      'body/categoryId must be <= 120',
    ],
    [
      'an unknown barred terminal',
      '/api/card-office/categories',
      { categoryId: 91, name: 'x', barredTerminalIds: ['NO-POS'] },
      400,
      'unknown terminals: NO-POS',
    ],
    [
      'a negative subsidy',
      '/api/card-office/categories',
      { categoryId: 91, name: 'x', subsidyAmountFen: -1 },
      400,
      'subsidyAmountFen must be >= 0',
    ],
    [
      'a fractional subsidy',
      '/api/card-office/categories',
      { categoryId: 91, name: 'x', subsidyAmountFen: 1.5 },
      400,
      'must be integer',
    ],
    [
      'an identity with an unknown category',
      '/api/card-office/identities',
      { identityCode: 'x1', kind: 'staff', name: 'x', parameterGroup: { defaultCategoryId: 119 } },
      404,
      'no card category 119',
    ],
    [
      'a batch of an unknown school',
      '/api/card-office/batches',
      { schoolId: 'NO-SCHOOL', batchCode: 'b', name: 'x', kind: 'group' },
      404,
      'no school NO-SCHOOL',
    ],
    [
      'a missing requestId',
      '/api/card-office/campuses',
      { requestId: undefined, campusId: 'C1', schoolId: 'S1', name: 'x' },
      400,
      "must have required property 'requestId'",
    ],
  ])(
    '%s is refused with a message naming it, and changes nothing',
    async (_name, url, body, status, message) => {
      const before = await app.db.query(`select count(*)::int as n from card_office_audit`);
      const r = await post(url, body);
      expect(r.status).toBe(status);
      expect(r.body.error.message).toContain(message);
      const after = await app.db.query(
        `select count(*)::int as n from card_office_audit where request_key like $1`,
        [`%${tag}-${seq}`],
      );
      expect(after.rows[0].n).toBe(0);
      expect(before.rows[0].n).toBeGreaterThan(0);
    },
  );
});

describe('cardholders', () => {
  test('bad references name their field; a duplicate person number is refused', async () => {
    const noIdentity = await post('/api/card-office/cardholders', {
      schoolId,
      personNo: 'S-BAD',
      name: '李四',
      gender: 'F',
      identityCode: 'astronaut',
    });
    expect(noIdentity.status).toBe(404);
    expect(noIdentity.body.error.message).toBe('identityCode: no identity astronaut');
    const badGender = await post('/api/card-office/cardholders', {
      schoolId,
      personNo: 'S-BAD',
      name: '李四',
      gender: 'X',
      identityCode: 'student',
    });
    expect(badGender.status).toBe(400);
    expect(badGender.body.error.message).toContain('gender must be equal to one of the allowed values');
    await newHolder('S-DUP');
    const dup = await post('/api/card-office/cardholders', {
      schoolId,
      personNo: 'S-DUP',
      name: '重复',
      gender: 'F',
      identityCode: 'student',
    });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('cardholder_already_exists');
  });

  test('information change and photo; a non-image photo is refused', async () => {
    const id = await newHolder('S-INFO');
    const change = await post(`/api/card-office/cardholders/${id}/changes`, {
      changes: { name: '王五', departmentId: `${schoolId}-G7C1`, grade: 7 },
    });
    expect(change.status, JSON.stringify(change.body)).toBe(200);
    const { rows } = await app.db.query(
      `select name, department_id, grade from cardholders where cardholder_id = $1`,
      [id],
    );
    expect(rows[0]).toEqual({ name: '王五', department_id: `${schoolId}-G7C1`, grade: 7 });
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(20)]);
    const photo = await post(`/api/card-office/cardholders/${id}/photo`, {
      photoBase64: png.toString('base64'),
    });
    expect(photo.body).toMatchObject({ mimeType: 'image/png', bytes: 28 });
    const bad = await post(`/api/card-office/cardholders/${id}/photo`, {
      photoBase64: Buffer.from('hello').toString('base64'),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('photo: not a JPEG or PNG image');
  });
});

describe('fingerprints', () => {
  test('a template is stored and shown only as present; an oversized one is refused', async () => {
    const id = await newHolder('S-FP');
    const cardNo = await issue(id);
    expect((await card(cardNo)).hasFingerprint).toBe(false);
    const ok = await post(`/api/card-office/cardholders/${id}/fingerprint`, {
      fingerprintTemplateBase64: randomBytes(512).toString('base64'),
    });
    expect(ok.body).toMatchObject({ fingerprintBytes: 512 });
    expect((await card(cardNo)).hasFingerprint).toBe(true);
    const big = await post(`/api/card-office/cardholders/${id}/fingerprint`, {
      fingerprintTemplateBase64: randomBytes(4100).toString('base64'),
    });
    expect(big.status).toBe(400);
    expect(big.body.error.message).toBe('fingerprintTemplate: 4100 bytes; a template has 1 to 4096');
  });
});

describe('card lifecycle', () => {
  test('issue: the card data of 卡信息结构, no PIN shown; a second user card is refused', async () => {
    const id = await newHolder('S-ISSUE');
    const cardNo = await issue(id);
    expect(cardNo).toMatch(/^8[0-9A-F]{15}$/);
    const info = await card(cardNo);
    expect(info).toMatchObject({
      cardNo,
      schoolId,
      name: '张三',
      gender: 'M',
      personNo: 'S-ISSUE',
      identityCode: 'student',
      reissueCount: 0,
      hasPin: true,
      cardFlag: 'normal',
      purpose: 'campus',
      status: 'active',
      cardKind: 'user',
      categoryId: 1,
      validityMode: 'years_from_issue',
      hasFingerprint: false,
    });
    expect(JSON.stringify(info)).not.toMatch(/scrypt|123456/);
    const second = await post('/api/card-office/cards', { cardholderId: id });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('cardholder_has_a_card');
  });

  test('freeze, unfreeze, and the refusals in between', async () => {
    const cardNo = await issue(await newHolder('S-FREEZE'));
    expect((await post(`/api/card-office/cards/${cardNo}/freeze`, { reason: '丢失' })).body.status).toBe(
      'frozen',
    );
    const twice = await post(`/api/card-office/cards/${cardNo}/freeze`, { reason: '丢失' });
    expect(twice.body.error.code).toBe('card_is_frozen');
    expect((await post(`/api/card-office/cards/${cardNo}/unfreeze`, { reason: '找到' })).body.status).toBe(
      'active',
    );
    const notFrozen = await post(`/api/card-office/cards/${cardNo}/unfreeze`, { reason: '找到' });
    expect(notFrozen.body.error.code).toBe('card_is_not_frozen');
    const unknown = await post(`/api/card-office/cards/8FFFFFFFFFFFFFFF/freeze`, { reason: '丢失' });
    expect(unknown.status).toBe(404);
    const { rows } = await app.db.query(
      `select action from card_office_audit where card_no = $1 order by audit_id`,
      [cardNo],
    );
    expect(rows.map((r) => r.action)).toEqual(['issue', 'freeze', 'unfreeze']);
  });

  test('replace: the old card cancelled as replaced, the new one counts a reissue and keeps the PIN', async () => {
    const id = await newHolder('S-REPL');
    const oldCard = await issue(id);
    const replaced = await post(`/api/card-office/cards/${oldCard}/replace`, { reason: '损坏' });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.body).toMatchObject({ replacedCardNo: oldCard, reissueCount: 1 });
    expect((await card(oldCard)).status).toBe('cancelled');
    const fresh = await card(replaced.body.cardNo);
    expect(fresh).toMatchObject({
      cardFlag: 'replacement',
      reissueCount: 1,
      hasPin: true,
      replacesCardNo: oldCard,
    });
    const change = await post(`/api/card-office/cards/${replaced.body.cardNo}/pin-change`, {
      oldPin: '123456',
      newPin: '654321',
    });
    expect(change.status).toBe(200);
  });

  test('PIN change with a wrong PIN changes nothing; reset works; a PIN of letters is refused', async () => {
    const cardNo = await issue(await newHolder('S-PIN'));
    const { rows: before } = await app.db.query(`select pin_hash from cards where card_no = $1`, [cardNo]);
    const wrong = await post(`/api/card-office/cards/${cardNo}/pin-change`, {
      oldPin: '000000',
      newPin: '111111',
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.code).toBe('pin_is_wrong');
    const { rows: after } = await app.db.query(`select pin_hash from cards where card_no = $1`, [cardNo]);
    expect(after[0].pin_hash).toBe(before[0].pin_hash);
    const letters = await post(`/api/card-office/cards/${cardNo}/pin-reset`, { newPin: 'abcdef' });
    expect(letters.status).toBe(400);
    expect(letters.body.error.message).toContain('newPin must match pattern');
    expect((await post(`/api/card-office/cards/${cardNo}/pin-reset`, { newPin: '222222' })).status).toBe(200);
    const changed = await post(`/api/card-office/cards/${cardNo}/pin-change`, {
      oldPin: '222222',
      newPin: '333333',
    });
    expect(changed.status).toBe(200);
  });

  test('expiry change: a past date and an impossible date are refused', async () => {
    const cardNo = await issue(await newHolder('S-EXP'));
    expect(
      (await post(`/api/card-office/cards/${cardNo}/expiry`, { expiresOn: '2000-01-01' })).body.error.message,
    ).toBe('expiresOn 2000-01-01 is not in the future');
    expect((await post(`/api/card-office/cards/${cardNo}/expiry`, { expiresOn: '2030-13-01' })).status).toBe(
      400,
    );
    const ok = await post(`/api/card-office/cards/${cardNo}/expiry`, { expiresOn: '2040-06-30' });
    expect(ok.body).toMatchObject({ expiresOn: '2040-06-30' });
    expect((await card(cardNo)).validityMode).toBe('fixed');
  });

  test('function cards: an operator card for the administrator beside their user card', async () => {
    const { rows } = await app.db.query(
      `select cardholder_id from cardholders where school_id = $1 and person_no = $2`,
      [schoolId, `A-${tag}`],
    );
    const adminId = Number(rows[0].cardholder_id);
    await issue(adminId);
    const operatorCard = await issue(adminId, { cardKind: 'operator' });
    expect(await card(operatorCard)).toMatchObject({ cardKind: 'operator', purpose: 'operator' });
  });

  test('cancel with account closing pays the wallets out through the ledger', async () => {
    const cardNo = await issue(await newHolder('S-CANCEL'));
    const topUp = await app.inject({
      method: 'POST',
      url: '/api/ledger/top-ups',
      payload: { requestId: rid(), cardNo, amountFen: 1234, method: 'cash', operatorId: 'cashier' },
    });
    expect(topUp.statusCode, topUp.body).toBe(200);
    const cancel = await post(`/api/card-office/cards/${cardNo}/cancel`, {
      reason: '转学',
      closeAccount: true,
    });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    expect(cancel.body.payout).toMatchObject({ mainFen: 1234, subsidyFen: 0, depositFen: 0 });
    const { rows } = await app.db.query(
      `select a.balance_fen from accounts a join cards c using (cardholder_id) where c.card_no = $1 and a.wallet_kind = 'main'`,
      [cardNo],
    );
    expect(rows[0].balance_fen).toBe(0n);
    const again = await post(`/api/card-office/cards/${cardNo}/cancel`, {
      reason: '转学',
      closeAccount: true,
    });
    expect(again.body.error.code).toBe('card_is_cancelled');
  });

  test('batch cancel is all or none', async () => {
    const a = await issue(await newHolder('S-BC1'));
    const b = await issue(await newHolder('S-BC2'));
    const withUnknown = await post('/api/card-office/cards/batch-cancel', {
      cardNos: [a, b, '8EEEEEEEEEEEEEEE'],
      reason: '批量',
      closeAccount: false,
    });
    expect(withUnknown.status).toBe(404);
    expect(withUnknown.body.error.message).toContain('8EEEEEEEEEEEEEEE');
    expect((await card(a)).status).toBe('active');
    const ok = await post('/api/card-office/cards/batch-cancel', {
      cardNos: [a, b],
      reason: '批量',
      closeAccount: false,
    });
    expect(ok.body.cancelledCount).toBe(2);
    expect((await card(b)).status).toBe('cancelled');
  });
});

describe('batches and graduation', () => {
  test('a preview shows what graduating does; the step cancels every card and pays every holder out', async () => {
    const batch = `G${tag}`;
    expect(
      (
        await post('/api/card-office/batches', {
          schoolId,
          batchCode: batch,
          name: '2026届',
          kind: 'graduation',
          graduatesOn: '2099-07-01',
        })
      ).status,
    ).toBe(200);
    const cards: string[] = [];
    for (const n of [1, 2, 3])
      cards.push(
        await issue(await newHolder(`S-GRAD-${n}`, { batchCode: batch }), {
          validityMode: 'until_graduation',
        }),
      );
    expect((await card(cards[0]!)).expiresOn).toBe('2099-07-01');
    for (const [i, cardNo] of cards.entries())
      await app.inject({
        method: 'POST',
        url: '/api/ledger/top-ups',
        payload: {
          requestId: rid(),
          cardNo,
          amountFen: 100 * (i + 1),
          method: 'cash',
          operatorId: 'cashier',
        },
      });
    const preview = (
      await app.inject({
        method: 'GET',
        url: `/api/card-office/schools/${schoolId}/batches/${batch}/graduation`,
      })
    ).json();
    expect(preview).toMatchObject({ cardholderCount: 3, cardCount: 3, cashOutFen: 600 });
    const { rows: beforeRows } = await app.db.query(
      `select count(*)::int as n from cards where card_no = any($1) and status = 'cancelled'`,
      [cards],
    );
    expect(beforeRows[0].n).toBe(0);
    const done = await post('/api/card-office/graduations', { schoolId, batchCode: batch });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ cancelledCount: 3, graduated: true, cashOutFen: 600 });
    const { rows } = await app.db.query(
      `select count(*)::int as n from cards where card_no = any($1) and status = 'cancelled'`,
      [cards],
    );
    expect(rows[0].n).toBe(3);
    const unknown = await app.inject({
      method: 'GET',
      url: `/api/card-office/schools/${schoolId}/batches/NOPE/graduation`,
    });
    expect(unknown.statusCode).toBe(404);
  });
});
