import type { OfficeRefusalCode } from '../../../core/keys/refusal.ts';

/**
 * The one place card-office and key-centre refusals become HTTP statuses: bad input 400, unknown
 * references 404, a key reused for other content or a state conflict 409, a refusal of the card or the
 * reader 422, no reader 503.
 */
export function officeStatusOf(code: OfficeRefusalCode): number {
  switch (code) {
    case 'invalid_input':
      return 400;
    case 'school_not_found':
    case 'campus_not_found':
    case 'department_not_found':
    case 'identity_not_found':
    case 'category_not_found':
    case 'batch_not_found':
    case 'cardholder_not_found':
    case 'card_not_found':
    case 'key_not_found':
    case 'issuance_not_found':
      return 404;
    case 'exists_with_different_content':
    case 'school_already_exists':
    case 'cardholder_already_exists':
    case 'cardholder_has_a_card':
    case 'key_already_exists':
    case 'psam_already_exists':
    case 'issuance_is_finished':
    case 'category_limit_reached':
      return 409;
    case 'card_is_cancelled':
    case 'card_is_frozen':
    case 'card_is_not_frozen':
    case 'card_is_not_active':
    case 'card_has_balance':
    case 'pin_is_wrong':
    case 'card_is_not_blank':
    case 'card_mismatch':
    case 'card_rejected_command':
    case 'card_is_unknown':
    case 'card_mac_is_wrong':
    case 'card_response_is_malformed':
    case 'card_was_removed':
      return 422;
    case 'reader_not_found':
      return 503;
  }
}
