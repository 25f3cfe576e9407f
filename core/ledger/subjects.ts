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
