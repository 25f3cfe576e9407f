import type { Pool } from '../db/pool.ts';
import { Book, type PostingLine } from './book.ts';
import { compareWithStored, fingerprint } from './idempotency.ts';
import type { Fen } from './money.ts';
import { refusalMessages, type RefusalCode } from './outcomes.ts';
import type { LedgerAnswer } from './purchase/execute.ts';
import {
  findStoredRequests,
  lockAccounts,
  withLedgerTransaction,
  type Client,
} from './store/unit-of-work.ts';
import { writeLedger, type PlannedTransaction } from './store/write.ts';

export type DraftTransaction = Omit<PlannedTransaction, 'postings' | 'requestKey'> & {
  requestKey?: string;
  lines: PostingLine[];
};

export type CommandDecision =
  | {
      outcome: 'ok';
      transactions: DraftTransaction[];
      /** The answer, computed after posting so it can quote balances after. */
      response: (book: Book) => Record<string, unknown>;
      after?: (client: Client) => Promise<void>;
    }
  | { outcome: RefusalCode; message: string };

export interface LedgerCommand {
  requestKey: string;
  kind: string;
  /** What makes two requests the same request (without the key itself). */
  content: unknown;
  /** The amount the request states, compared first on a repeat with other content. */
  amountFen: Fen | null;
  /**
   * Reads what the decision needs inside the transaction (locking card rows first when it needs them),
   * names the accounts to lock, and returns the decision to take once they are locked.
   */
  prepare(
    client: Client,
  ): Promise<
    | { accountIds: Iterable<bigint>; decide(book: Book): CommandDecision }
    | { outcome: RefusalCode; message: string }
  >;
}

export const refusal = (code: RefusalCode, detail?: string) => ({
  outcome: code,
  message: detail ? `${refusalMessages[code]}: ${detail}` : refusalMessages[code],
});

/**
 * The one way a single ledger command is run: a repeat gets the stored answer; otherwise prepare, lock
 * the accounts in order, decide, post in the book (which asserts balance and floors) and store the
 * transactions, balances, outbox events and the answer in one database transaction. Refusals are
 * answered and not stored, so a refused request changes nothing at all.
 */
export async function runCommand(pool: Pool, command: LedgerCommand): Promise<LedgerAnswer> {
  const print = fingerprint(command.content);
  return withLedgerTransaction(pool, async (client) => {
    const stored = (await findStoredRequests(client, [command.requestKey])).get(command.requestKey);
    if (stored) {
      const same = compareWithStored(stored, { fingerprint: print, amountFen: command.amountFen });
      if (same.repeat) return { response: stored.response as LedgerAnswer['response'], replayed: true };
      return { response: refusal(same.refusal), replayed: false };
    }
    const prepared = await command.prepare(client);
    let decision: CommandDecision;
    let book = new Book([]);
    if ('outcome' in prepared) decision = prepared;
    else {
      book = new Book(await lockAccounts(client, prepared.accountIds));
      decision = prepared.decide(book);
    }
    // A refusal writes nothing: the request can be sent again once the reason is gone.
    if (decision.outcome !== 'ok')
      return { response: { outcome: decision.outcome, message: decision.message }, replayed: false };
    const transactions: PlannedTransaction[] = decision.transactions.map(({ lines, ...draft }) => ({
      ...draft,
      requestKey: draft.requestKey ?? command.requestKey,
      postings: book.post(lines),
    }));
    const response = { outcome: 'ok', ...decision.response(book) };
    const answers = await writeLedger(client, {
      transactions,
      balances: book.changed(),
      requests: [
        {
          requestKey: command.requestKey,
          kind: command.kind,
          fingerprint: print,
          amountFen: command.amountFen,
          outcome: response.outcome,
          response,
        },
      ],
    });
    if (decision.after) await decision.after(client);
    return { response: answers.get(command.requestKey) as LedgerAnswer['response'], replayed: false };
  });
}
