import { Book } from '../book.ts';
import { compareWithStored, fingerprint, type StoredRequest } from '../idempotency.ts';
import { fenToJson } from '../money.ts';
import { refusalMessages } from '../outcomes.ts';
import { pinMatches } from '../pin.ts';
import { readAndLockBatch, readRequestsAndTerminals, type PurchasePool } from '../store/purchase-batch.ts';
import { loadMenuPrices, lockCards } from '../store/purchase-state.ts';
import { lockAccounts, withPipelinedLedgerTransaction, type Client } from '../store/unit-of-work.ts';
import { writeLedger, type PlannedTransaction, type RequestRecord } from '../store/write.ts';
import { addToDailySpend, decidePurchase } from './decide.ts';
import { startBatchClock } from './profile.ts';
import type { CardState, PurchaseCommand } from './types.ts';

function checkPins(commands: readonly PurchaseCommand[], cards: Map<string, CardState>) {
  return Promise.all(
    commands.map((c) =>
      c.pin === undefined ? null : pinMatches(c.pin, cards.get(c.cardNo)?.pinHash ?? null),
    ),
  );
}

/** What the caller gets: the stored answer, and whether it is a repeat of an earlier request. */
export interface LedgerAnswer {
  response: Record<string, unknown> & { outcome: string };
  replayed: boolean;
}

export function purchaseFingerprint(command: PurchaseCommand): string {
  const { terminalId, terminalSeq, cardNo, deduction } = command;
  return fingerprint({ terminalId, terminalSeq, cardNo, deduction });
}

const statedAmount = (command: PurchaseCommand) =>
  command.deduction.mode === 'amount' ? command.deduction.amountFen : null;

/** Which commands repeat a stored request (answered here) and which are new (the first of each key). */
function sortOutRepeats(commands: readonly PurchaseCommand[], stored: Map<string, StoredRequest>) {
  const answers: Array<LedgerAnswer | undefined> = new Array(commands.length);
  const fresh: number[] = [];
  const firstIndexOfKey = new Map<string, number>();
  commands.forEach((command, index) => {
    const previous = stored.get(command.requestKey);
    if (previous) {
      const same = compareWithStored(previous, {
        fingerprint: purchaseFingerprint(command),
        amountFen: statedAmount(command),
      });
      answers[index] = same.repeat
        ? { response: previous.response as LedgerAnswer['response'], replayed: true }
        : { response: { outcome: same.refusal, message: refusalMessages[same.refusal] }, replayed: false };
    } else if (!firstIndexOfKey.has(command.requestKey)) {
      firstIndexOfKey.set(command.requestKey, index);
      fresh.push(index);
    }
  });
  return { answers, fresh, firstIndexOfKey };
}

/**
 * Reads what the batch decides on, with its cards and accounts locked. Without PINs that is one
 * statement (it locks the cards of repeats too, which is harmless). A PIN is checked (scrypt, slow on
 * purpose) with the cards locked but before the accounts are, so the merchant's payable row is never
 * held while hashing.
 */
async function readBatch(client: Client, commands: readonly PurchaseCommand[], payableLane: number) {
  const requestKeys = commands.map((c) => c.requestKey);
  const terminalIds = [...new Set(commands.map((c) => c.terminalId))];
  if (!commands.some((c) => c.pin !== undefined)) {
    const read = await readAndLockBatch(
      client,
      requestKeys,
      commands.map((c) => c.cardNo),
      terminalIds,
      payableLane,
    );
    const sorted = sortOutRepeats(commands, read.stored);
    const pins = sorted.fresh.map(() => null);
    return { ...read, ...sorted, book: new Book(read.accounts), pins };
  }
  const { stored, terminals, transactionIds } = await readRequestsAndTerminals(
    client,
    requestKeys,
    terminalIds,
    payableLane,
  );
  const sorted = sortOutRepeats(commands, stored);
  const freshCommands = sorted.fresh.map((index) => commands[index]!);
  const cards = await lockCards(
    client,
    freshCommands.map((c) => c.cardNo),
    [...terminals.keys()],
  );
  const pins = await checkPins(freshCommands, cards);
  const accountIds = new Set<bigint>();
  for (const t of terminals.values()) if (t.payableAccountId !== null) accountIds.add(t.payableAccountId);
  for (const card of cards.values())
    for (const id of Object.values(card.walletAccountIds)) accountIds.add(id);
  const book = new Book(await lockAccounts(client, accountIds));
  return { stored, terminals, cards, ...sorted, book, pins, transactionIds };
}

/**
 * Decides and stores a batch of online purchases in one database transaction: each gets its own outcome,
 * in the order given, against balances that include the purchases before it. Repeats of stored requests
 * (and of an earlier request in the same batch) get the first answer and write nothing; refusals are
 * answered and not stored. The takings go to lane `payableLane` of each merchant's payable: batches run
 * at the same time on different lanes never wait for each other's payable row.
 */
export async function executePurchases(
  pool: PurchasePool,
  commands: readonly PurchaseCommand[],
  payableLane = 0,
): Promise<LedgerAnswer[]> {
  const clock = startBatchClock(commands.length);
  // Pipelined: `begin` travels with the read-and-lock statement and `commit` with the write, so on the
  // API's purchase pool (createPurchasePool) a batch is two round trips, of statements prepared once per
  // connection.
  return withPipelinedLedgerTransaction(pool, async (client, tx) => {
    clock.lap('connect+begin');
    const { terminals, cards, book, pins, fresh, firstIndexOfKey, answers, transactionIds } = await readBatch(
      client,
      commands,
      payableLane,
    );
    clock.lap('readAndLock');
    const freshCommands = fresh.map((index) => commands[index]!);
    const menuMerchants = freshCommands
      .filter((c) => c.deduction.mode === 'menu')
      .map((c) => terminals.get(c.terminalId)?.merchantId);
    const menu = await loadMenuPrices(client, [...new Set(menuMerchants.filter((m): m is string => !!m))]);
    clock.lap('menu+pins');
    const transactions: PlannedTransaction[] = [];
    const requests: RequestRecord[] = [];
    const spentCards = new Set<CardState>();
    const refusedNow = new Map<string, LedgerAnswer['response']>();
    fresh.forEach((index, position) => {
      const command = commands[index]!;
      const terminal = terminals.get(command.terminalId);
      const card = cards.get(command.cardNo);
      const decision = decidePurchase({
        command,
        terminal,
        card,
        book,
        pinMatches: pins[position]!,
        menuPriceFen: (itemCode) => menu.get(`${terminal?.merchantId}/${itemCode}`),
      });
      let response: LedgerAnswer['response'];
      if (decision.outcome === 'ok') {
        const postings = book.post(decision.lines);
        addToDailySpend(card!, decision.businessDate, decision.amountFen);
        spentCards.add(card!);
        const wallets = decision.walletParts.map((part) => ({
          wallet: part.wallet,
          amountFen: fenToJson(part.amountFen),
          balanceFenAfter: fenToJson(book.balance(part.accountId)),
        }));
        response = {
          outcome: 'ok',
          requestKey: command.requestKey,
          amountFen: fenToJson(decision.amountFen),
          mealPeriod: decision.mealPeriod,
          businessDate: decision.businessDate,
          wallets,
        };
        transactions.push({
          transactionId: transactionIds[transactions.length],
          requestKey: command.requestKey,
          kind: 'purchase',
          amountFen: decision.amountFen,
          cardNo: command.cardNo,
          terminalId: command.terminalId,
          merchantId: terminal!.merchantId ?? undefined,
          mealPeriod: decision.mealPeriod,
          businessDate: decision.businessDate,
          detail: { terminalSeq: command.terminalSeq, deduction: command.deduction.mode },
          postings,
          event: {
            topic: 'ledger.purchase',
            aggregateKey: command.cardNo,
            payload: {
              ...response,
              cardNo: command.cardNo,
              cardholderId: String(card!.cardholderId),
              terminalId: command.terminalId,
              merchantId: terminal!.merchantId,
              at: command.at.toISOString(),
            },
          },
        });
        requests.push({
          requestKey: command.requestKey,
          kind: 'purchase',
          fingerprint: purchaseFingerprint(command),
          amountFen: statedAmount(command),
          outcome: 'ok',
          response,
        });
      } else {
        // A refusal writes nothing; the answer goes back and the terminal may try again.
        refusedNow.set(command.requestKey, { outcome: decision.outcome, message: decision.message });
      }
    });

    clock.lap('decide');
    const storedNow = await tx.commitWith(() =>
      writeLedger(
        client,
        {
          transactions,
          balances: book.changed(),
          requests,
          cardSpends: [...spentCards].map((card) => ({
            cardNo: card.cardNo,
            spentOn: card.spentOn!,
            spentFen: card.spentFen,
          })),
        },
        { prepared: true },
      ),
    );
    clock.lap('write+commit');
    fresh.forEach((index) => {
      const key = commands[index]!.requestKey;
      answers[index] = {
        response: (storedNow.get(key) ?? refusedNow.get(key)) as LedgerAnswer['response'],
        replayed: false,
      };
    });
    // A key repeated within the batch: the later ones get the first one's answer, marked as a repeat
    // when the content is the same.
    commands.forEach((command, index) => {
      if (answers[index]) return;
      const first = commands[firstIndexOfKey.get(command.requestKey)!]!;
      const firstAnswer = answers[firstIndexOfKey.get(command.requestKey)!]!;
      const same = compareWithStored(
        {
          requestKey: first.requestKey,
          fingerprint: purchaseFingerprint(first),
          amountFen: statedAmount(first),
          outcome: firstAnswer.response.outcome,
          response: firstAnswer.response,
        },
        { fingerprint: purchaseFingerprint(command), amountFen: statedAmount(command) },
      );
      answers[index] = same.repeat
        ? { response: firstAnswer.response, replayed: true }
        : { response: { outcome: same.refusal, message: refusalMessages[same.refusal] }, replayed: false };
    });
    return answers.map((answer) => answer!);
  }).finally(() => clock.lap('answer'));
}
