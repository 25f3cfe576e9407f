import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { workflowBundle } from '../../worker/bundle.ts';
import { reconcileTopUps } from '../../core/bank/reconciliation.ts';
import type { BankTopUpResult, BankTopUpState } from '../../workflows/bank-top-up/workflow.ts';
import { queryNames } from '../../workflows/names.ts';
import { scopedLedgerCheck } from '../ledger/fixture.ts';
import {
  boundCard,
  codeSentTo,
  eventually,
  movements,
  randomPhone,
  startTopUp,
  topUpRecord,
} from '../bank/fixture.ts';
import { startTopUpStack, type TopUpStack } from '../bank/top-up-stack.ts';

const historiesDir = path.join(import.meta.dirname, 'histories');
let stack: TopUpStack;
let worker: { stop(): Promise<void> } | undefined;
const suiteStarted = new Date();

beforeAll(async () => {
  stack = await startTopUpStack('test-bank-top-up');
  worker = await stack.startWorker();
});
afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
});

const result = (workflowId: string) =>
  stack.client.workflow.getHandle(workflowId).result() as Promise<BankTopUpResult>;
const state = (workflowId: string) =>
  stack.client.workflow.getHandle(workflowId).query<BankTopUpState>(queryNames.topUpState);
const inboundOutcome = async (messageSid: string) =>
  (await stack.db.query(`select outcome from sms_messages where sid = $1`, [messageSid])).rows[0]?.outcome;

async function failureOf(workflowId: string): Promise<ApplicationFailure> {
  const error = await result(workflowId).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause as ApplicationFailure;
}

describe('bank top-up approved by the parent (网银圈存)', () => {
  test('Y <code> approves: the bank is debited and the wallet credited once, the parent told, all recorded', async () => {
    const fixture = await boundCard(stack);
    const before = await movements(stack, fixture, 'none');
    const workflowId = await startTopUp(stack, fixture, { requestId: 'approve' });
    const code = await codeSentTo(stack, fixture.phone);
    const replied = await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    expect(replied.status).toBe(200);
    const done = await result(workflowId);
    expect(done).toMatchObject({
      phase: 'completed',
      amountFen: 5_000,
      balanceFenAfter: before.walletFen + 5_000,
    });

    const after = await movements(stack, fixture, workflowId);
    expect(after).toMatchObject({
      bankBalanceFen: before.bankBalanceFen - 5_000,
      bankDebits: 1,
      bankRefunds: 0,
      ledgerTopUps: 1,
      ledgerTopUpFen: 5_000,
      walletFen: before.walletFen + 5_000,
    });
    await stack.twilio.waitForMessage((m) => m.to === fixture.phone && m.body.includes('已为'));
    // Reconciliation: the bank's debit id, the ledger transaction, and the bank's signed callback.
    const record = await eventually(
      () => topUpRecord(stack, workflowId),
      (r) => r?.bank_confirmed_at !== null,
    );
    expect(record).toMatchObject({
      status: 'completed',
      bank_debit_id: done.debitId,
      ledger_transaction_id: done.transactionId,
    });
    expect(record!.bank_confirmed_at).not.toBeNull();
    // Delivery statuses from the double's signed callbacks.
    const statuses = await eventually(
      async () =>
        (
          await stack.db.query(
            `select e.status from sms_status_events e join sms_messages m using (sid)
              where m.workflow_id = $1 and m.template = 'top_up_request' order by e.status`,
            [workflowId],
          )
        ).rows.map((r) => r.status as string),
      (s) => s.length === 2,
    );
    expect(statuses).toEqual(['delivered', 'sent']);

    // The same reply again (a replayed webhook), and a late one: nothing moves, both are logged.
    const replay = await stack.twilio.reply({
      from: fixture.phone,
      body: `Y ${code}`,
      messageSid: replied.messageSid,
    });
    expect(replay.status).toBe(200);
    const late = await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    expect(late.status).toBe(200);
    expect(await inboundOutcome(late.messageSid)).toBe('no_waiting_top_up');
    expect(await movements(stack, fixture, workflowId)).toEqual(after);
    // Starting the same request again is a no-op, also after it ended: the business key is the id.
    const again = await stack.app.inject({
      method: 'POST',
      url: '/api/bank-top-ups',
      payload: { cardNo: fixture.cardNo, requestId: 'approve', trigger: 'parent_request' },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ workflowId, started: false });
    const runs = await stack.client.workflow.count(`WorkflowId = '${workflowId}'`);
    expect(runs.count).toBe(1);
    // Our SMS log keeps the request with its one-time code masked.
    const { rows: logged } = await stack.db.query(
      `select body from sms_messages where workflow_id = $1 and template = 'top_up_request'`,
      [workflowId],
    );
    expect(logged[0].body).toContain('Y ******');
    expect(logged[0].body).not.toContain(code);
    expect(await scopedLedgerCheck(stack.db, fixture.school)).toEqual({
      differences: [],
      unbalanced: [],
      belowFloor: [],
    });

    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    if (process.env.RECORD_HISTORIES === '1')
      fs.writeFileSync(path.join(historiesDir, 'bank-top-up.json'), historyToJSON(history));
  });

  test('N declines: nothing moves and the parent is told', async () => {
    const fixture = await boundCard(stack);
    const before = await movements(stack, fixture, 'none');
    const workflowId = await startTopUp(stack, fixture);
    await codeSentTo(stack, fixture.phone);
    await stack.twilio.reply({ from: fixture.phone, body: 'n' });
    expect(await result(workflowId)).toMatchObject({ phase: 'declined' });
    expect(await movements(stack, fixture, workflowId)).toEqual({ ...before, bankDebits: 0 });
    expect((await topUpRecord(stack, workflowId))!.status).toBe('declined');
    await stack.twilio.waitForMessage((m) => m.to === fixture.phone && m.body.includes('您已拒绝'));
  });

  test('no reply within the window expires it', async () => {
    const fixture = await boundCard(stack);
    const before = await movements(stack, fixture, 'none');
    const workflowId = await startTopUp(stack, fixture, { replyTimeoutS: 2 });
    expect(await result(workflowId)).toMatchObject({ phase: 'expired', repliesSeen: 0 });
    expect(await movements(stack, fixture, workflowId)).toEqual(before);
    expect((await topUpRecord(stack, workflowId))!.status).toBe('expired');
    await stack.twilio.waitForMessage((m) => m.to === fixture.phone && m.body.includes('超时取消'));
  });

  test('a wrong code or anything else gets a help reply and it keeps waiting; then the right code approves', async () => {
    const fixture = await boundCard(stack);
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    const wrong = code === '000000' ? '111111' : '000000';
    await stack.twilio.reply({ from: fixture.phone, body: `Y ${wrong}` });
    await stack.twilio.reply({ from: fixture.phone, body: '好的' });
    await eventually(
      async () =>
        stack.twilio.sent.filter((m) => m.to === fixture.phone && m.body.includes('未能识别')).length,
      (n) => n === 2,
    );
    expect(await state(workflowId)).toMatchObject({ phase: 'awaiting_reply', repliesSeen: 2 });
    expect((await movements(stack, fixture, workflowId)).bankDebits).toBe(0);
    // Full-width letters and digits, as a Chinese keyboard types them.
    const fullWidth = `Ｙ ${[...code].map((d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0)).join('')}`;
    await stack.twilio.reply({ from: fixture.phone, body: fullWidth });
    expect(await result(workflowId)).toMatchObject({ phase: 'completed', repliesSeen: 3 });
    expect(await movements(stack, fixture, workflowId)).toMatchObject({ bankDebits: 1, ledgerTopUps: 1 });
  });

  test('a forged signature is refused with 403 and changes nothing', async () => {
    const fixture = await boundCard(stack);
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    const forged = await stack.twilio.reply({
      from: fixture.phone,
      body: `Y ${code}`,
      forgedWith: 'not-the-auth-token',
    });
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.text).error.code).toBe('signature_invalid');
    expect(await inboundOutcome(forged.messageSid)).toBeUndefined();
    // An unsigned post too.
    const unsigned = await fetch(new URL('/api/sms/inbound', stack.publicBaseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        MessageSid: forged.messageSid,
        From: fixture.phone,
        To: '+15005550006',
        Body: `Y ${code}`,
      }),
    });
    expect(unsigned.status).toBe(403);
    expect(await state(workflowId)).toMatchObject({ phase: 'awaiting_reply', repliesSeen: 0 });
    expect((await movements(stack, fixture, workflowId)).bankDebits).toBe(0);
    await stack.twilio.reply({ from: fixture.phone, body: 'N' });
    expect(await result(workflowId)).toMatchObject({ phase: 'declined' });
  });

  test('a reply from a number not bound to the card is refused and changes nothing', async () => {
    const fixture = await boundCard(stack);
    const other = await boundCard(stack, { school: fixture.school });
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    const stranger = await stack.twilio.reply({ from: randomPhone(), body: `Y ${code}` });
    expect(stranger.status).toBe(200);
    expect(await inboundOutcome(stranger.messageSid)).toBe('sender_not_bound');
    // The parent of another card, quoting this card's code.
    const otherParent = await stack.twilio.reply({ from: other.phone, body: `Y ${code}` });
    expect(await inboundOutcome(otherParent.messageSid)).toBe('no_waiting_top_up');
    expect(await state(workflowId)).toMatchObject({ phase: 'awaiting_reply', repliesSeen: 0 });
    expect((await movements(stack, fixture, workflowId)).bankDebits).toBe(0);
    await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    expect(await result(workflowId)).toMatchObject({ phase: 'completed' });
  });
});

describe('a binding changed while the parent decides', () => {
  test('the debit goes to the bank card the parent was asked about', async () => {
    const fixture = await boundCard(stack);
    const before = await movements(stack, fixture, 'none');
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    const newToken = `${fixture.bankCardToken}_new`;
    await stack.bank.call('POST', '/sim/cards', { cardToken: newToken, balanceFen: 100_000 });
    const rebound = await stack.app.inject({
      method: 'PUT',
      url: `/api/parent-bindings/${fixture.cardNo}`,
      payload: { guardianPhone: fixture.phone, bankCardToken: newToken },
    });
    expect(rebound.statusCode).toBe(200);
    await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    expect(await result(workflowId)).toMatchObject({ phase: 'completed' });
    expect((await movements(stack, fixture, workflowId)).bankBalanceFen).toBe(before.bankBalanceFen - 5_000);
    expect((await stack.bank.call('GET', `/sim/cards/${newToken}`)).body.balanceFen).toBe(100_000);
  });
});

describe('a confirmation Twilio refuses', () => {
  test('is logged and skipped: the money has moved once and stays moved', async () => {
    const fixture = await boundCard(stack);
    const before = await movements(stack, fixture, 'none');
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    stack.twilio.refuse(fixture.phone);
    await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    expect(await result(workflowId)).toMatchObject({ phase: 'completed' });
    expect(await movements(stack, fixture, workflowId)).toMatchObject({
      bankBalanceFen: before.bankBalanceFen - 5_000,
      bankDebits: 1,
      bankRefunds: 0,
      ledgerTopUps: 1,
    });
    expect((await topUpRecord(stack, workflowId))!.status).toBe('completed');
    expect(stack.twilio.sent.filter((m) => m.to === fixture.phone && m.body.includes('已为'))).toEqual([]);
  });
});

describe('a request Twilio refuses', () => {
  test('fails the top-up as sms_refused at once, its record lapsed, nothing moved', async () => {
    const fixture = await boundCard(stack);
    stack.twilio.refuse(fixture.phone);
    const workflowId = await startTopUp(stack, fixture);
    expect((await failureOf(workflowId)).type).toBe('sms_refused');
    expect((await topUpRecord(stack, workflowId))!.status).toBe('expired');
    expect((await movements(stack, fixture, workflowId)).bankDebits).toBe(0);
  });
});

describe('the low-balance trigger', () => {
  test('a scan starts one top-up a day for each card under its threshold; a card above it is refused', async () => {
    const low = await boundCard(stack, { lowBalanceThresholdFen: 2_000 });
    const enough = await boundCard(stack, { school: low.school, lowBalanceThresholdFen: 0 });
    const refused = await stack.app.inject({
      method: 'POST',
      url: '/api/bank-top-ups',
      payload: { cardNo: enough.cardNo, requestId: 'low-1', trigger: 'low_balance' },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('balance_is_not_low');
    const scan = () =>
      stack.app.inject({
        method: 'POST',
        url: '/api/bank-top-ups/low-balance-scans',
        payload: { businessDate: '2026-11-29', schoolId: low.school.schoolId, replyTimeoutS: 30 },
      });
    const first = await scan();
    expect(first.json()).toEqual({
      cardsBelowThreshold: 1,
      started: [`bank-top-up/${low.cardNo}/low-balance-2026-11-29`],
    });
    await codeSentTo(stack, low.phone);
    expect((await scan()).json()).toEqual({ cardsBelowThreshold: 0, started: [] });
    await stack.twilio.reply({ from: low.phone, body: 'N' });
    expect(await result(first.json().started[0])).toMatchObject({ phase: 'declined' });
    // Declined today: the same day's scan finds the card again but starts nothing new.
    expect((await scan()).json()).toEqual({ cardsBelowThreshold: 1, started: [] });
  });
});

describe('the bank misbehaves', () => {
  test('slow and failing answers are retried with the same key: one debit, one credit', async () => {
    const fixture = await boundCard(stack);
    const before = await movements(stack, fixture, 'none');
    const faults = await stack.bank.call('PUT', '/sim/faults', {
      rules: [
        { operation: 'debit', cardToken: fixture.bankCardToken, kind: 'fail_before', status: 503, times: 1 },
        // Done at the bank, answered too late for the gateway (2 s): the retry must not debit again.
        {
          operation: 'debit',
          cardToken: fixture.bankCardToken,
          kind: 'delay_after',
          delayMs: 3_000,
          times: 1,
        },
        // Done at the bank, answer lost.
        { operation: 'debit', cardToken: fixture.bankCardToken, kind: 'fail_after', times: 1 },
      ],
    });
    expect(faults.status).toBe(200);
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    expect(await result(workflowId)).toMatchObject({ phase: 'completed' });
    expect(await movements(stack, fixture, workflowId)).toMatchObject({
      bankBalanceFen: before.bankBalanceFen - 5_000,
      bankDebits: 1,
      ledgerTopUps: 1,
      walletFen: before.walletFen + 5_000,
    });
    const rules = (await stack.bank.call('GET', '/sim/faults')).body.rules as Array<{ hit: number }>;
    expect(rules.map((r) => r.hit)).toEqual([1, 1, 1]);
    await stack.bank.call('PUT', '/sim/faults', { rules: [] });
  });

  test('a bank refusal ends it as bank_declined: nothing moves, the parent is told', async () => {
    const fixture = await boundCard(stack, { bankBalanceFen: 100 });
    const before = await movements(stack, fixture, 'none');
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    expect((await failureOf(workflowId)).type).toBe('bank_declined');
    expect(await movements(stack, fixture, workflowId)).toEqual(before);
    expect((await topUpRecord(stack, workflowId))!.status).toBe('bank_declined');
    await stack.twilio.waitForMessage((m) => m.to === fixture.phone && m.body.includes('银行拒绝扣款'));
  });

  test('a wallet credit refused after the debit is compensated by a refund at the bank', async () => {
    const fixture = await boundCard(stack);
    const before = await movements(stack, fixture, 'none');
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    // The card is cancelled (销户) while the parent's approval is on its way: the ledger refuses the credit.
    await stack.db.query(`update cards set status = 'cancelled' where card_no = $1`, [fixture.cardNo]);
    await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    expect((await failureOf(workflowId)).type).toBe('ledger_refused');
    expect(await movements(stack, fixture, workflowId)).toEqual({ ...before, bankDebits: 1, bankRefunds: 1 });
    expect(await topUpRecord(stack, workflowId)).toMatchObject({
      status: 'refunded',
      bank_refund_id: expect.stringMatching(/^rfd_/),
    });
    expect(await scopedLedgerCheck(stack.db, fixture.school)).toEqual({
      differences: [],
      unbalanced: [],
      belowFloor: [],
    });
  });
});

describe('圈存对账', () => {
  test("the bank's statement matches the top-up records and the ledger, line by line", async () => {
    const answer = await stack.app.inject({
      method: 'GET',
      url: `/api/bank-top-ups/reconciliation?since=${encodeURIComponent(suiteStarted.toISOString())}`,
    });
    expect(answer.statusCode, answer.body).toBe(200);
    const report = answer.json();
    // Every debit of this suite so far: approvals, the faulty bank, the compensated one (kept 0, credited 0).
    expect(report.matched).toBeGreaterThanOrEqual(5);
    expect(report.issues.filter((i: { issue: string }) => i.issue !== 'bank_callback_missing')).toEqual([]);
    // A debit the bank has and we do not, and one the bank kept more of than the ledger credited.
    const stray = {
      debitId: 'dbt_stray',
      reference: 'elsewhere',
      amountFen: 100,
      refundedFen: 0,
      createdAt: '',
    };
    const { rows } = await stack.db.query(
      `select bank_debit_id from bank_top_ups where status = 'refunded' and created_at >= $1 limit 1`,
      [suiteStarted],
    );
    const refunded = {
      ...stray,
      debitId: rows[0].bank_debit_id as string,
      amountFen: 5_000,
      refundedFen: 4_000,
    };
    const checked = await reconcileTopUps(stack.db, [stray, refunded], suiteStarted);
    expect(checked.issues.map((i) => [i.issue, i.debitId])).toEqual(
      expect.arrayContaining([
        ['bank_debit_without_top_up', 'dbt_stray'],
        ['bank_kept_differs_from_ledger', refunded.debitId],
        ['top_up_debit_missing_at_bank', expect.stringMatching(/^dbt_/)],
      ]),
    );
  });
});

describe('a worker stopped in the middle of a top-up', () => {
  test('a new worker finishes it: the bank debited once, the wallet credited once', async () => {
    const fixture = await boundCard(stack);
    const before = await movements(stack, fixture, 'none');
    // The bank takes the money at once and answers 1.5 s later: the worker is stopped in between.
    await stack.bank.call('PUT', '/sim/faults', {
      rules: [{ operation: 'debit', cardToken: fixture.bankCardToken, kind: 'delay_after', delayMs: 1_500 }],
    });
    const workflowId = await startTopUp(stack, fixture);
    const code = await codeSentTo(stack, fixture.phone);
    await stack.twilio.reply({ from: fixture.phone, body: `Y ${code}` });
    await eventually(
      () => movements(stack, fixture, workflowId),
      (m) => m.bankDebits === 1,
    );
    await worker!.stop();
    worker = undefined;
    const stopped = await movements(stack, fixture, workflowId);
    expect(stopped).toMatchObject({ bankDebits: 1, ledgerTopUps: 0 });

    worker = await stack.startWorker();
    expect(await result(workflowId)).toMatchObject({ phase: 'completed' });
    expect(await movements(stack, fixture, workflowId)).toEqual({
      ...before,
      bankBalanceFen: before.bankBalanceFen - 5_000,
      bankDebits: 1,
      ledgerTopUps: 1,
      ledgerTopUpFen: 5_000,
      walletFen: before.walletFen + 5_000,
    });
    await stack.bank.call('PUT', '/sim/faults', { rules: [] });

    // Its history, and every recorded one, replays on the current code.
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const recorded = fs
      .readdirSync(historiesDir)
      .filter((file) => file.startsWith('bank-top-up') && file.endsWith('.json'))
      .map((file) => ({
        workflowId: file,
        history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(historiesDir, file), 'utf8'))),
      }));
    expect(recorded.length).toBeGreaterThan(0);
    const bundle = await workflowBundle(pino({ level: 'warn' }));
    let count = 0;
    for await (const replay of Worker.runReplayHistories({ workflowBundle: bundle }, [
      { workflowId, history },
      ...recorded,
    ])) {
      expect(replay.error, `replay of ${replay.workflowId}`).toBeUndefined();
      count++;
    }
    expect(count).toBe(1 + recorded.length);
  });
});
