-- Up Migration
-- The bank card a top-up debits is fixed when the parent is asked: a binding changed while the debit is
-- being retried must not send the same idempotency key to the bank with another card.
alter table bank_top_ups add column bank_card_token text check (bank_card_token ~ '^tok_[A-Za-z0-9_]{8,64}$');

-- Down Migration
alter table bank_top_ups drop column bank_card_token;
