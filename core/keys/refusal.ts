/**
 * The expected refusals of the key centre and the card office, as stable sentence-like codes. Domain code
 * throws them; the HTTP layer maps codes to statuses in one switch (api/routes/cards/status.ts).
 * Messages name what is wrong and never carry key bytes.
 */
export const officeRefusalCodes = [
  'exists_with_different_content',
  'invalid_input',
  'school_not_found',
  'school_already_exists',
  'campus_not_found',
  'department_not_found',
  'identity_not_found',
  'category_not_found',
  'category_limit_reached',
  'batch_not_found',
  'cardholder_not_found',
  'cardholder_already_exists',
  'cardholder_has_a_card',
  'card_not_found',
  'card_is_cancelled',
  'card_is_frozen',
  'card_is_not_frozen',
  'card_is_not_active',
  'card_has_balance',
  'pin_is_wrong',
  'key_not_found',
  'key_already_exists',
  'psam_already_exists',
  'issuance_not_found',
  'issuance_is_finished',
  'card_is_not_blank',
  'card_mismatch',
  'card_rejected_command',
  'card_is_unknown',
  'card_mac_is_wrong',
  'card_response_is_malformed',
  'card_was_removed',
  'reader_not_found',
] as const;

export type OfficeRefusalCode = (typeof officeRefusalCodes)[number];

export class OfficeRefusal extends Error {
  override name = 'OfficeRefusal';
  constructor(
    readonly code: OfficeRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

export const refuse = (code: OfficeRefusalCode, message: string): never => {
  throw new OfficeRefusal(code, message);
};
