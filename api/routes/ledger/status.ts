import type { OutcomeCode } from '../../../core/ledger/outcomes.ts';

/**
 * The one place ledger outcomes become HTTP statuses. Unknown references are 404, a request key reused
 * for other content or a state that forbids the operation is 409, a business refusal is 422.
 */
export function statusOf(outcome: OutcomeCode): number {
  switch (outcome) {
    case 'ok':
      return 200;
    case 'unit_not_found':
    case 'subject_not_found':
    case 'terminal_not_found':
    case 'card_not_found':
    case 'transaction_not_found':
    case 'menu_item_not_found':
    case 'subsidy_batch_not_found':
      return 404;
    case 'exists_with_different_amount':
    case 'exists_with_different_content':
    case 'subject_already_exists':
    case 'transaction_already_reversed':
    case 'transaction_has_refunds':
    case 'subsidy_batch_already_cleared':
      return 409;
    case 'terminal_is_disabled':
    case 'terminal_takes_no_payments':
    case 'card_is_cancelled':
    case 'card_is_blacklisted':
    case 'card_is_frozen':
    case 'card_has_expired':
    case 'card_is_barred_at_terminal':
    case 'transaction_is_not_refundable':
    case 'transaction_is_a_reversal':
    case 'refund_exceeds_purchase':
    case 'transfer_to_same_wallet':
    case 'deduction_mode_not_configured':
    case 'amount_exceeds_maximum':
    case 'pin_is_wrong':
    case 'pin_required':
    case 'daily_limit_exceeded':
    case 'insufficient_balance':
    case 'subsidy_batch_targets_nobody':
    case 'subsidy_batch_has_not_expired':
    case 'purse_counter_is_duplicated':
    case 'purse_record_is_inconsistent':
    case 'purse_tac_is_invalid':
      return 422;
  }
}
