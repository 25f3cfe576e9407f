// Property tests: random sequences of every ledger write against the real database. Whatever the
// sequence, every transaction balances, every stored balance equals the one recomputed from the postings,
// no wallet goes below zero (an offline shortfall goes to suspense, the one rule that lets money be
// missing), the day's spending stays within the hard cap, and a refused operation changes nothing.
import { afterAll, beforeAll, expect, test } from 'vitest';
import fc from 'fast-check';
import type { Pool } from '../../core/db/pool.ts';
import { createPool } from '../../core/db/pool.ts';
import { runCommand } from '../../core/ledger/command.ts';
import { placeholderTac } from '../../core/ledger/offline/tac.ts';
import { uploadOfflineRecords } from '../../core/ledger/offline/upload.ts';
import { cardDepositCommand } from '../../core/ledger/operations/deposit.ts';
import { refundCommand } from '../../core/ledger/operations/refund.ts';
import { reversalCommand } from '../../core/ledger/operations/reversal.ts';
import { subsidyIssueCommand } from '../../core/ledger/operations/subsidy.ts';
import { topUpCommand } from '../../core/ledger/operations/top-up.ts';
import { transferCommand } from '../../core/ledger/operations/transfer.ts';
import { executePurchases, type LedgerAnswer } from '../../core/ledger/purchase/execute.ts';
import { createPurchasePool, type PurchasePool } from '../../core/ledger/store/purchase-batch.ts';
import { isRefusalCode } from '../../core/ledger/outcomes.ts';
import { stackConfig } from '../support/env.ts';
import {
  createCards,
  createCategory,
  createSchool,
  scopedLedgerCheck,
  uniqueId,
  type School,
} from './fixture.ts';

const cardsPerRun = 3;
const dailyMaxFen = 6000;

let pool: Pool;
let purchaseDb: PurchasePool;
let school: School;
let category: number;

beforeAll(async () => {
  pool = createPool(stackConfig().DATABASE_URL, { max: 4, application: 'ledger-properties' });
  purchaseDb = createPurchasePool(stackConfig().DATABASE_URL, 2);
  school = await createSchool(pool);
  category = await createCategory(pool, { perTxLimitFen: 2500, dailyLimitFen: 5000, dailyMaxFen });
});
afterAll(async () => {
  await purchaseDb?.end();
  await pool?.end();
});

const amount = fc.integer({ min: 1, max: 4000 });
const cardIndex = fc.nat({ max: cardsPerRun - 1 });
const wallet = fc.constantFrom('main' as const, 'subsidy' as const);
/** Which earlier transaction a refund or reversal refers to (modulo how many there are). */
const earlier = fc.nat({ max: 50 });

const operation = fc.oneof(
  fc.record({ kind: fc.constant('top-up' as const), card: cardIndex, amount }),
  fc.record({ kind: fc.constant('purchase' as const), card: cardIndex, amount, pin: fc.boolean() }),
  fc.record({ kind: fc.constant('purchase' as const), card: cardIndex, amount, pin: fc.boolean() }),
  fc.record({
    kind: fc.constant('transfer' as const),
    from: cardIndex,
    fromWallet: wallet,
    to: cardIndex,
    toWallet: wallet,
    amount,
  }),
  fc.record({ kind: fc.constant('refund' as const), of: earlier, amount }),
  fc.record({ kind: fc.constant('reversal' as const), of: earlier }),
  fc.record({
    kind: fc.constant('deposit' as const),
    card: cardIndex,
    amount,
    direction: fc.constantFrom('in' as const, 'out' as const),
  }),
  fc.record({ kind: fc.constant('subsidy' as const), amount }),
  fc.record({ kind: fc.constant('offline' as const), card: cardIndex, amount, skip: fc.nat({ max: 2 }) }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

interface Run {
  cards: string[];
  batchCode: string;
  transactions: bigint[];
  counters: number[];
}
/** The terminal's record sequence: one terminal for all runs, so it never starts again. */
let terminalSeq = 0;

async function apply(run: Run, op: Operation): Promise<LedgerAnswer> {
  const key = uniqueId('prop');
  const at = new Date();
  const base = { requestKey: key, operatorId: 'prop', at };
  switch (op.kind) {
    case 'top-up':
      return runCommand(
        pool,
        topUpCommand({ ...base, cardNo: run.cards[op.card]!, amountFen: BigInt(op.amount), method: 'cash' }),
      );
    case 'purchase': {
      const [answer] = await executePurchases(purchaseDb, [
        {
          requestKey: `pos:${school.pos}:${key}`,
          terminalId: school.pos,
          terminalSeq: ++terminalSeq,
          cardNo: run.cards[op.card]!,
          deduction: { mode: 'amount', amountFen: BigInt(op.amount) },
          pin: op.pin ? '123456' : undefined,
          at,
        },
      ]);
      return answer!;
    }
    case 'transfer':
      return runCommand(
        pool,
        transferCommand({
          ...base,
          from: { cardNo: run.cards[op.from]!, wallet: op.fromWallet },
          to: { cardNo: run.cards[op.to]!, wallet: op.toWallet },
          amountFen: BigInt(op.amount),
        }),
      );
    case 'refund':
    case 'reversal': {
      const transactionId = run.transactions[op.of % Math.max(1, run.transactions.length)] ?? 999_999_999n;
      return op.kind === 'refund'
        ? runCommand(
            pool,
            refundCommand({ ...base, transactionId, amountFen: BigInt(op.amount), reason: 'prop' }),
          )
        : runCommand(pool, reversalCommand({ ...base, transactionId, reason: 'prop' }));
    }
    case 'deposit':
      return runCommand(
        pool,
        cardDepositCommand({
          ...base,
          cardNo: run.cards[op.card]!,
          amountFen: BigInt(op.amount),
          direction: op.direction,
        }),
      );
    case 'subsidy':
      return runCommand(
        pool,
        subsidyIssueCommand({
          batchId: key,
          unitId: school.schoolId,
          amountFen: BigInt(op.amount),
          target: { batchCode: run.batchCode },
          expiresOn: '2099-12-31',
          operatorId: 'prop',
          at,
        }),
      );
    case 'offline': {
      // The card's own counter, sometimes skipping some (a counter gap); the balance the card claims is
      // whatever it is: the ledger books the record and reports, it never lets a wallet go negative.
      run.counters[op.card] = run.counters[op.card]! + 1 + op.skip;
      const fields = {
        cardNo: run.cards[op.card]!,
        cardCounter: run.counters[op.card]!,
        amountFen: BigInt(op.amount),
        balanceFenAfter: 10_000n,
        terminalId: school.pos,
        terminalSeq: ++terminalSeq,
        at: at.toISOString(),
      };
      return uploadOfflineRecords(pool, {
        uploadId: key,
        terminalId: school.pos,
        records: [{ ...fields, balanceFenBefore: 10_000n + fields.amountFen, tac: placeholderTac(fields) }],
      });
    }
  }
}

/** Balances of the run's wallets (and the school's own accounts): what a refusal must leave unchanged. */
async function snapshot(run: Run): Promise<string> {
  const { rows } = await pool.query<{ account_id: bigint; balance_fen: bigint }>(
    `select a.account_id, a.balance_fen from accounts a
      where a.cardholder_id in (select cardholder_id from cards where card_no = any($1::text[]))
         or (a.unit_id = $2 and a.cardholder_id is null)
      order by a.account_id`,
    [run.cards, school.schoolId],
  );
  return rows.map((r) => `${r.account_id}=${r.balance_fen}`).join(',');
}

test('random sequences of every write keep the books balanced, recomputable and never below zero', async () => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 20 }), async (ops) => {
      const batchCode = uniqueId('PB');
      const cards = await createCards(pool, school, cardsPerRun, {
        categoryId: category,
        pin: runs++ === 0 ? '123456' : undefined,
        batchCode,
      });
      // PIN hashing is slow on purpose: the first run's hash serves every run.
      if (runs > 1)
        await pool.query(
          `update cards set pin_hash = (select pin_hash from cards where pin_hash is not null and category_id = $2 limit 1) where card_no = any($1::text[])`,
          [cards, category],
        );
      const run: Run = { cards, batchCode, transactions: [], counters: cards.map(() => 0) };
      // Money to start with, so purchases and transfers succeed as often as they are refused.
      for (let card = 0; card < cardsPerRun; card++) await apply(run, { kind: 'top-up', card, amount: 6000 });
      for (const op of ops) {
        const before = await snapshot(run);
        const answer = await apply(run, op);
        const outcome = answer.response.outcome;
        const records = answer.response.records as Array<{ outcome: string }> | undefined;
        if (outcome !== 'ok') {
          expect(isRefusalCode(outcome), `${op.kind}: ${outcome}`).toBe(true);
          expect(await snapshot(run), `${op.kind} refused (${outcome}) but changed balances`).toBe(before);
        } else if (records && records[0]!.outcome !== 'ok') {
          expect(await snapshot(run), `offline record refused but changed balances`).toBe(before);
        }
        for (const made of [answer.response, ...(records ?? [])]) {
          const transactionId = (made as { transactionId?: unknown }).transactionId;
          if (typeof transactionId === 'number') run.transactions.push(BigInt(transactionId));
        }
      }
      const check = await scopedLedgerCheck(pool, school);
      expect(check).toEqual({ differences: [], unbalanced: [], belowFloor: [] });
      const { rows } = await pool.query<{ spent_fen: bigint }>(
        `select spent_fen from cards where card_no = any($1::text[]) and spent_fen > $2`,
        [cards, dailyMaxFen],
      );
      expect(rows, 'a card spent beyond the hard daily cap').toEqual([]);
    }),
    { numRuns: 40, seed: Number(process.env.LEDGER_PROPERTY_SEED ?? Date.now() % 2 ** 31) },
  );
});
