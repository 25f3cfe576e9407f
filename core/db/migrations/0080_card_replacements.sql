-- Up Migration
-- 补卡 with balance transfer. A lost card's replacement waits until the old card's offline records can no
-- longer arrive: every terminal that may hold them has been collected from after the freeze, or the window
-- has passed. These tables are what that wait reads and what the hand-over leaves behind.

-- The last time the collection service took everything a terminal held: an offline upload, or a check-in
-- saying it holds nothing more. Kept apart from `terminals`, whose changes are dimension events.
create table terminal_collections (
  terminal_id     text primary key references terminals,
  collected_at    timestamptz not null,
  last_upload_id  text
);

-- One row per replaced card, written by its workflow: the freeze, the terminals still silent when the wait
-- ended, and the balance handed to the new card (the holder's wallets; a card is the key to them).
create table card_replacements (
  old_card_no       text primary key references cards (card_no),
  workflow_id       text not null,
  cardholder_id     bigint not null references cardholders,
  state             text not null check (state in ('waiting_offline', 'transferred')),
  frozen_at         timestamptz not null,
  wait_ended        text check (wait_ended in ('all_collected', 'window_passed')),
  silent_terminals  text[] not null default '{}',
  new_card_no       text references cards (card_no),
  main_fen          bigint,
  subsidy_fen       bigint,
  deposit_fen       bigint,
  transferred_at    timestamptz,
  created_at        timestamptz not null default now(),
  check ((state = 'transferred') = (new_card_no is not null and transferred_at is not null))
);
create unique index card_replacements_new_card on card_replacements (new_card_no) where new_card_no is not null;

-- An offline record of a replaced card that arrives after the transfer is booked and reported.
alter table purse_reports drop constraint purse_reports_kind_check;
alter table purse_reports add constraint purse_reports_kind_check check (kind in (
  'counter_gap', 'balance_mismatch', 'duplicate_counter', 'tac_invalid', 'inconsistent_record', 'shortfall',
  'after_replacement'));

-- Down Migration
alter table purse_reports drop constraint purse_reports_kind_check;
alter table purse_reports add constraint purse_reports_kind_check check (kind in (
  'counter_gap', 'balance_mismatch', 'duplicate_counter', 'tac_invalid', 'inconsistent_record', 'shortfall'));
drop table card_replacements;
drop table terminal_collections;
