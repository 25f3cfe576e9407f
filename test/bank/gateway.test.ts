import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { verifyBankSignature } from '../../core/bank/callback-signature.ts';
import { createHttpBankGateway } from '../../core/bank/http-gateway.ts';
import { BankProtocolError, BankUnavailableError } from '../../core/bank/port.ts';
import {
  signBankEvent,
  startBankSimulator,
  type RunningBankSimulator,
} from '../../drivers/bank-simulator/server.ts';

// The gateway against the simulator in-process (the workflow suite runs it as its own process).
const apiKey = 'bk_test_0123456789abcdef';
const callbackSecret = 'cb_secret_0123456789abcdef';
let sim: RunningBankSimulator;
let receiver: http.Server;
const events: Array<{ body: string; signature: string }> = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      events.push({
        body: Buffer.concat(chunks).toString(),
        signature: String(req.headers['x-bank-signature']),
      });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;
  sim = await startBankSimulator({ apiKey, callbackSecret, defaultCallbackUrl: callbackUrl });
  sim.bank.openCard({ cardToken: 'tok_parent_0001', balanceFen: 10_000, blocked: false });
  sim.bank.openCard({ cardToken: 'tok_blocked_0001', balanceFen: 10_000, blocked: true });
});
afterAll(async () => {
  await sim?.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const gateway = (timeoutMs = 2_000) =>
  createHttpBankGateway({ baseUrl: sim.url, apiKey, requestTimeoutMs: timeoutMs });

describe('bank gateway and simulator', () => {
  test('a debit with a key moves money once; a repeat gets the first answer', async () => {
    const request = {
      idempotencyKey: 'wf-1/3',
      cardToken: 'tok_parent_0001',
      amountFen: 2_500,
      reference: 'wf-1',
    };
    const first = await gateway().debit(request);
    const again = await gateway().debit(request);
    expect(first).toMatchObject({ outcome: 'succeeded', amountFen: 2_500, replayed: false });
    expect(again).toEqual({ ...first, replayed: true });
    expect(sim.bank.cards.get('tok_parent_0001')!.balanceFen).toBe(7_500);
    // The same key for another amount is our bug, never a second debit.
    await expect(gateway().debit({ ...request, amountFen: 1 })).rejects.toBeInstanceOf(BankProtocolError);
  });

  test('refusals are answers: insufficient funds, blocked or unknown card', async () => {
    const base = { reference: 'wf-2', amountFen: 1_000 };
    expect(
      await gateway().debit({
        ...base,
        idempotencyKey: 'a',
        cardToken: 'tok_parent_0001',
        amountFen: 1_000_000,
      }),
    ).toMatchObject({
      outcome: 'declined',
      code: 'insufficient_funds',
    });
    expect(
      await gateway().debit({ ...base, idempotencyKey: 'b', cardToken: 'tok_blocked_0001' }),
    ).toMatchObject({ code: 'card_blocked' });
    expect(
      await gateway().debit({ ...base, idempotencyKey: 'c', cardToken: 'tok_nobody_0001' }),
    ).toMatchObject({ code: 'card_unknown' });
  });

  test('outages and slow answers throw BankUnavailableError; the retry with the same key does not debit twice', async () => {
    const balance = () => sim.bank.cards.get('tok_parent_0001')!.balanceFen;
    const start = balance();
    sim.faults.replace([
      { operation: 'debit', kind: 'fail_before', times: 1 },
      { operation: 'debit', kind: 'delay_after', delayMs: 600, times: 1 },
      { operation: 'debit', kind: 'fail_after', times: 1 },
    ]);
    const request = {
      idempotencyKey: 'wf-3/5',
      cardToken: 'tok_parent_0001',
      amountFen: 100,
      reference: 'wf-3',
    };
    await expect(gateway(300).debit(request)).rejects.toBeInstanceOf(BankUnavailableError);
    expect(balance()).toBe(start);
    await expect(gateway(300).debit(request)).rejects.toBeInstanceOf(BankUnavailableError);
    expect(balance()).toBe(start - 100);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await expect(gateway(300).debit(request)).rejects.toBeInstanceOf(BankUnavailableError);
    const answer = await gateway(300).debit(request);
    expect(answer).toMatchObject({ outcome: 'succeeded', replayed: true });
    expect(balance()).toBe(start - 100);
  });

  test('refunds: once per key, never more than the debit', async () => {
    const debit = await gateway().debit({
      idempotencyKey: 'wf-4/1',
      cardToken: 'tok_parent_0001',
      amountFen: 300,
      reference: 'wf-4',
    });
    if (debit.outcome !== 'succeeded') throw new Error('debit failed');
    const refund = { idempotencyKey: 'wf-4/2', debitId: debit.debitId, amountFen: 300, reason: 'test' };
    const before = sim.bank.cards.get('tok_parent_0001')!.balanceFen;
    expect(await gateway().refund(refund)).toMatchObject({ outcome: 'succeeded', replayed: false });
    expect(await gateway().refund(refund)).toMatchObject({ outcome: 'succeeded', replayed: true });
    expect(await gateway().refund({ ...refund, idempotencyKey: 'wf-4/3' })).toMatchObject({
      code: 'refund_exceeds_debit',
    });
    expect(sim.bank.cards.get('tok_parent_0001')!.balanceFen).toBe(before + 300);
  });

  test('events are signed; our check accepts them and refuses a changed body, a wrong secret or an old time', async () => {
    await expect.poll(() => events.length).toBeGreaterThan(0);
    for (const event of events)
      expect(verifyBankSignature(callbackSecret, event.signature, event.body)).toBeUndefined();
    const { body, signature } = events[0]!;
    expect(verifyBankSignature(callbackSecret, signature, body.replace('1', '2'))).toBe('signature_invalid');
    expect(verifyBankSignature('another-secret-0123456789', signature, body)).toBe('signature_invalid');
    const old = signBankEvent(callbackSecret, body, Math.floor(Date.now() / 1000) - 3_600);
    expect(verifyBankSignature(callbackSecret, old, body)).toBe('signature_expired');
    expect(verifyBankSignature(callbackSecret, undefined, body)).toBe('signature_missing');
  });

  test('the API key is required', async () => {
    const wrong = createHttpBankGateway({ baseUrl: sim.url, apiKey: 'bk_wrong_key_0123456789' });
    await expect(
      wrong.debit({ idempotencyKey: 'x', cardToken: 'tok_parent_0001', amountFen: 1, reference: 'x' }),
    ).rejects.toThrow(/401 unauthorised/);
  });
});
