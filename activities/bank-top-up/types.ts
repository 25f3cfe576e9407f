/** What starts a bank top-up: the card, how much, why, and how long the parent has to answer. */
export interface BankTopUpInput {
  cardNo: string;
  schoolId: string;
  /** The business key's last part: a parent's request id, or `low-balance-<date>`. */
  requestId: string;
  amountFen: number;
  trigger: 'low_balance' | 'parent_request';
  /** How long the parent has to reply (24 h in production; seconds in tests). */
  replyTimeoutMs: number;
}

export type TopUpNoticeTemplate =
  'top_up_help' | 'top_up_confirmed' | 'top_up_declined' | 'top_up_expired' | 'top_up_failed';

export interface TopUpNotice {
  workflowId: string;
  cardNo: string;
  template: TopUpNoticeTemplate;
  amountFen?: number;
  balanceFenAfter?: number;
  reason?: string;
}

export type TopUpRecordStatus =
  'approved' | 'declined' | 'expired' | 'bank_declined' | 'refunded' | 'completed';

export interface BankTopUpActivities {
  /** Opens the reconciliation record with a fresh one-time code and texts the parent the request. */
  requestTopUpApproval(input: BankTopUpInput & { workflowId: string }): Promise<{ smsSid: string }>;
  /** Whether the code quoted in a reply is the one sent (the code itself never enters the history). */
  checkTopUpCode(input: { workflowId: string; code: string }): Promise<boolean>;
  /** checkTopUpCode and the record's move to `approved` in one step: true when the code is the one sent. */
  approveTopUp(input: { workflowId: string; code: string }): Promise<boolean>;
  sendTopUpNotice(notice: TopUpNotice): Promise<{ smsSid: string }>;
  /** Debits the parent's bound bank card; a bank refusal is ApplicationFailure `bank_declined`. */
  debitParentBankCard(input: {
    workflowId: string;
    cardNo: string;
    amountFen: number;
  }): Promise<{ debitId: string; replayed: boolean }>;
  /** Credits the main wallet; a ledger refusal is ApplicationFailure `ledger_refused`. */
  creditStudentWallet(input: {
    workflowId: string;
    cardNo: string;
    amountFen: number;
  }): Promise<{ transactionId: string; balanceFenAfter: number }>;
  /** The compensation of the debit: gives the money back unless the wallet credit happened after all. */
  refundParentBankCard(input: {
    workflowId: string;
    debitId: string;
    amountFen: number;
    reason: string;
  }): Promise<{ refunded: boolean; refundId?: string; transactionId?: string }>;
  recordTopUpOutcome(input: {
    workflowId: string;
    status: TopUpRecordStatus;
    detail?: Record<string, string | number>;
  }): Promise<void>;
}
