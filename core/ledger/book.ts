import { assertLedger } from './assert.ts';
import type { Fen } from './money.ts';

export interface LockedAccount {
  accountId: bigint;
  /** +1 for debit-normal subjects, -1 for credit-normal: balance = normalSign * sum(postings). */
  normalSign: 1 | -1;
  balanceFen: Fen;
  /** The lowest balance allowed, or null when the account may go either way. */
  floorFen: Fen | null;
}

/** One posting: debit positive, credit negative. */
export interface PostingLine {
  accountId: bigint;
  amountFen: Fen;
}

export interface PostedLine extends PostingLine {
  balanceFenAfter: Fen;
}

export const debit = (accountId: bigint, amountFen: Fen): PostingLine => ({ accountId, amountFen });
export const credit = (accountId: bigint, amountFen: Fen): PostingLine => ({
  accountId,
  amountFen: -amountFen,
});

/**
 * The accounts one database transaction holds locked, with their balances as the decisions of this batch
 * leave them. Decisions read balances here and post here; the writer then stores the postings and the
 * final balances. Posting asserts what must never happen: an unbalanced transaction, a floor broken.
 */
export class Book {
  private readonly accounts = new Map<bigint, LockedAccount>();
  private readonly touched = new Set<bigint>();

  constructor(accounts: Iterable<LockedAccount>) {
    for (const account of accounts) this.accounts.set(account.accountId, { ...account });
  }

  has(accountId: bigint): boolean {
    return this.accounts.has(accountId);
  }

  balance(accountId: bigint): Fen {
    return this.get(accountId).balanceFen;
  }

  /** What can leave an account before it reaches its floor (a wallet: its balance). */
  available(accountId: bigint): Fen {
    const account = this.get(accountId);
    return account.floorFen === null ? account.balanceFen : account.balanceFen - account.floorFen;
  }

  /** Would these lines keep every account at or above its floor? */
  fits(lines: readonly PostingLine[]): boolean {
    const change = new Map<bigint, Fen>();
    for (const line of lines) {
      const account = this.get(line.accountId);
      change.set(
        line.accountId,
        (change.get(line.accountId) ?? 0n) + BigInt(account.normalSign) * line.amountFen,
      );
    }
    for (const [accountId, delta] of change) {
      const account = this.get(accountId);
      if (account.floorFen !== null && account.balanceFen + delta < account.floorFen) return false;
    }
    return true;
  }

  post(lines: readonly PostingLine[]): PostedLine[] {
    assertLedger(lines.length >= 2, `a transaction needs at least two postings, got ${lines.length}`);
    let sum = 0n;
    for (const line of lines) {
      assertLedger(line.amountFen !== 0n, `a posting of zero on account ${line.accountId}`);
      sum += line.amountFen;
    }
    assertLedger(sum === 0n, `postings sum to ${sum}, not zero`);
    assertLedger(this.fits(lines), 'a posting would take an account below its floor');
    return lines.map((line) => {
      const account = this.get(line.accountId);
      account.balanceFen += BigInt(account.normalSign) * line.amountFen;
      this.touched.add(line.accountId);
      return { ...line, balanceFenAfter: account.balanceFen };
    });
  }

  /** Accounts whose balance changed, with the balance to store. */
  changed(): Array<{ accountId: bigint; balanceFen: Fen }> {
    return [...this.touched].map((accountId) => ({ accountId, balanceFen: this.get(accountId).balanceFen }));
  }

  private get(accountId: bigint): LockedAccount {
    const account = this.accounts.get(accountId);
    assertLedger(account, `account ${accountId} is not locked by this transaction`);
    return account;
  }
}
