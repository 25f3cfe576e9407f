/** The predefined subjects (科目) the money core posts to; finance staff add sub-accounts under them. */
export const subjects = {
  cash: '1001',
  bankClearing: '1002',
  suspense: '1901',
  cardholderDeposits: '2001',
  mainWallet: '200101',
  subsidyWallet: '200102',
  cardDeposits: '2002',
  merchantPayables: '2101',
  feeIncome: '6001',
  subsidyExpense: '6601',
} as const;

/**
 * An independent merchant's payable (2101) is this many accounts, lanes 0 to 7, under the same subject:
 * each purchase batch in flight credits its own lane, so batches never queue on one payable row.
 * Lane 0 takes every other writer. The merchant's payable is the sum of its lanes.
 */
export const payableLanes = 8;

export type WalletKind = 'main' | 'subsidy' | 'deposit';
export const spendableWallets = ['main', 'subsidy'] as const;
export type SpendableWallet = (typeof spendableWallets)[number];

export const walletSubject: Record<WalletKind, string> = {
  main: subjects.mainWallet,
  subsidy: subjects.subsidyWallet,
  deposit: subjects.cardDeposits,
};

/** Accounts every accounting unit has, created with the unit. */
export const unitSubjects = [
  subjects.cash,
  subjects.bankClearing,
  subjects.suspense,
  subjects.feeIncome,
  subjects.subsidyExpense,
] as const;
