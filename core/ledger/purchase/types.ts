import type { MealPeriod } from '../calendar.ts';
import type { Fen } from '../money.ts';
import type { SpendableWallet } from '../subjects.ts';

/** 扣款模式: the amount typed in, the terminal's fixed price, menu items, or a number of portions. */
export type Deduction =
  | { mode: 'amount'; amountFen: Fen }
  | { mode: 'fixed' }
  | { mode: 'menu'; lines: ReadonlyArray<{ itemCode: string; quantity: number }> }
  | { mode: 'portions'; portions: number };

export interface PurchaseCommand {
  /** The idempotency key of a terminal record: `pos:<terminalId>:<terminalSeq>`. */
  requestKey: string;
  terminalId: string;
  terminalSeq: number;
  cardNo: string;
  deduction: Deduction;
  pin?: string;
  at: Date;
}

export interface TerminalState {
  terminalId: string;
  kind: string;
  status: string;
  /** The merchant the terminal belongs to (managed or independent). */
  merchantId: string | null;
  /** The account that takes the takings: the merchant's, or its independent parent's for a managed one. */
  payableAccountId: bigint | null;
  fixedAmountFen: Fen | null;
  portionPriceFen: Fen | null;
  mealPeriods: MealPeriod[];
}

export interface CardState {
  cardNo: string;
  cardholderId: bigint;
  status: 'active' | 'frozen' | 'blacklisted' | 'cancelled';
  /** The last valid day, YYYY-MM-DD. */
  expiresOn: string;
  categoryId: number;
  perTxLimitFen: Fen | null;
  dailyLimitFen: Fen | null;
  dailyMaxFen: Fen | null;
  walletOrder: SpendableWallet[];
  barredTerminalIds: ReadonlySet<string>;
  walletAccountIds: Partial<Record<SpendableWallet, bigint>>;
  spentOn: string | null;
  spentFen: Fen;
  pinHash: string | null;
}

export interface PurchaseReceipt {
  transactionId?: bigint;
  amountFen: Fen;
  mealPeriod: string | null;
  businessDate: string;
  wallets: Array<{ wallet: SpendableWallet; amountFen: Fen; balanceFenAfter: Fen }>;
}
