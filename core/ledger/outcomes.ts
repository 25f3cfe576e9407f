/**
 * The closed set of outcomes of every ledger command, ordered by precedence: when a request is wrong in
 * several ways, the first code in this list is the one it gets, so the answer is stable. Domain code
 * returns these; the HTTP layer maps them to statuses in one switch (api/routes/ledger/status.ts).
 */
export const refusalCodes = [
  'exists_with_different_amount',
  'exists_with_different_content',
  'unit_not_found',
  'subject_not_found',
  'subject_already_exists',
  'terminal_not_found',
  'terminal_is_disabled',
  'terminal_takes_no_payments',
  'card_not_found',
  'card_is_cancelled',
  'card_is_blacklisted',
  'card_is_frozen',
  'card_has_expired',
  'card_is_barred_at_terminal',
  'transaction_not_found',
  'transaction_is_not_refundable',
  'transaction_is_a_reversal',
  'transaction_already_reversed',
  'transaction_has_refunds',
  'refund_exceeds_purchase',
  'transfer_to_same_wallet',
  'menu_item_not_found',
  'deduction_mode_not_configured',
  'amount_exceeds_maximum',
  'pin_is_wrong',
  'pin_required',
  'daily_limit_exceeded',
  'insufficient_balance',
  'subsidy_batch_not_found',
  'subsidy_batch_targets_nobody',
  'subsidy_batch_has_not_expired',
  'subsidy_batch_already_cleared',
  'purse_counter_is_duplicated',
  'purse_record_is_inconsistent',
  'purse_tac_is_invalid',
] as const;

export type RefusalCode = (typeof refusalCodes)[number];
export type OutcomeCode = 'ok' | RefusalCode;

const precedence = new Map<string, number>(refusalCodes.map((code, index) => [code, index]));

/** The code that wins when several apply. */
export function firstRefusal(codes: readonly RefusalCode[]): RefusalCode | undefined {
  let best: RefusalCode | undefined;
  for (const code of codes)
    if (best === undefined || precedence.get(code)! < precedence.get(best)!) best = code;
  return best;
}

export function isRefusalCode(code: string): code is RefusalCode {
  return precedence.has(code);
}

/** Messages for people (the cashier's screen, the API caller); the code is what programs compare. */
export const refusalMessages: Record<RefusalCode, string> = {
  exists_with_different_amount: 'this request key was already used with a different amount',
  exists_with_different_content: 'this request key was already used for a different request',
  unit_not_found: 'no such accounting unit',
  subject_not_found: 'no such account subject (科目)',
  subject_already_exists: 'an account subject with this code already exists',
  terminal_not_found: 'no such terminal',
  terminal_is_disabled: 'the terminal is disabled',
  terminal_takes_no_payments: 'the terminal is not a payment terminal',
  card_not_found: 'no such card',
  card_is_cancelled: 'the card is cancelled (销户)',
  card_is_blacklisted: 'the card is blacklisted (黑名单)',
  card_is_frozen: 'the card is frozen (挂失)',
  card_has_expired: 'the card has expired',
  card_is_barred_at_terminal: 'this card category may not be used at this terminal',
  transaction_not_found: 'no such transaction',
  transaction_is_not_refundable: 'only purchases can be refunded',
  transaction_is_a_reversal: 'a reversal cannot itself be reversed',
  transaction_already_reversed: 'the transaction was already reversed',
  transaction_has_refunds: 'the purchase has refunds; reverse those first',
  refund_exceeds_purchase: 'the refunds would exceed the purchase amount',
  transfer_to_same_wallet: 'the source and target wallets are the same',
  menu_item_not_found: 'no such menu item at this merchant',
  deduction_mode_not_configured: 'the terminal has no price configured for this deduction mode',
  amount_exceeds_maximum: 'the amount exceeds the largest amount one operation may move',
  pin_is_wrong: 'the PIN is wrong',
  pin_required: 'the amount is above the card limit: the PIN is required',
  daily_limit_exceeded: 'the daily spending cap of the card is reached',
  insufficient_balance: 'the wallet balance is insufficient',
  subsidy_batch_not_found: 'no such subsidy batch',
  subsidy_batch_targets_nobody: 'the subsidy batch selects no cardholder with a card',
  subsidy_batch_has_not_expired: 'the subsidy batch has not expired yet',
  subsidy_batch_already_cleared: 'the subsidy batch was already cleared',
  purse_counter_is_duplicated: 'the card counter was already used by another record',
  purse_record_is_inconsistent: 'the record balance before minus amount is not its balance after',
  purse_tac_is_invalid: 'the record TAC does not verify',
};

/** The answer of every command: its outcome, and on success what the command produced. */
export type CommandResult<T> = { outcome: 'ok'; value: T } | { outcome: RefusalCode; message: string };

export function refuse<T>(code: RefusalCode, detail?: string): CommandResult<T> {
  return { outcome: code, message: detail ? `${refusalMessages[code]}: ${detail}` : refusalMessages[code] };
}
