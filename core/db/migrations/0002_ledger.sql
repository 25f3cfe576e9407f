-- Up Migration
-- The money core: chart of accounts (科目), accounting units, accounts with maintained balances, immutable
-- double-entry transactions and postings, idempotent requests, and the transactional outbox.
-- Amounts are integer fen (bigint) everywhere. Writers lock card rows (by card_no) before account rows
-- (by account_id), always in ascending order, so two writers never deadlock.

create table accounting_units (
  unit_id        text primary key check (unit_id ~ '^[A-Z0-9-]{2,32}$'),
  parent_unit_id text references accounting_units,
  kind           text not null check (kind in ('bureau', 'school', 'campus')),
  school_id      text references schools,
  name           text not null check (length(name) between 1 and 100),
  created_at     timestamptz not null default now(),
  check ((kind = 'bureau') = (parent_unit_id is null)),
  check ((kind = 'bureau') = (school_id is null))
);
insert into accounting_units (unit_id, kind, name) values ('BUREAU', 'bureau', '教育局结算中心');

-- 科目: categories (one level) and sub-accounts under them; finance staff add their own sub-accounts.
create table account_subjects (
  subject_code text primary key check (subject_code ~ '^[0-9]{4,10}$'),
  parent_code  text references account_subjects,
  name_zh      text not null check (length(name_zh) between 1 and 50),
  name_en      text not null check (length(name_en) between 1 and 80),
  category     text not null check (category in ('asset', 'liability', 'equity', 'income', 'expense')),
  normal_side  text not null check (normal_side in ('debit', 'credit')),
  predefined   boolean not null default false,
  created_at   timestamptz not null default now(),
  check (parent_code is null or subject_code like parent_code || '%')
);
insert into account_subjects (subject_code, parent_code, name_zh, name_en, category, normal_side, predefined) values
  ('1001', null, '库存现金', 'cash', 'asset', 'debit', true),
  ('1002', null, '银行清算', 'bank clearing', 'asset', 'debit', true),
  ('1901', null, '待处理款项', 'suspense', 'asset', 'debit', true),
  ('2001', null, '持卡人存款', 'cardholder deposits', 'liability', 'credit', true),
  ('200101', '2001', '主钱包', 'main wallet', 'liability', 'credit', true),
  ('200102', '2001', '补助钱包', 'subsidy wallet', 'liability', 'credit', true),
  ('2002', null, '卡押金', 'card deposits', 'liability', 'credit', true),
  ('2101', null, '应付商户款', 'merchant payables', 'liability', 'credit', true),
  ('6001', null, '手续费收入', 'fee income', 'income', 'credit', true),
  ('6601', null, '补助支出', 'subsidy expense', 'expense', 'debit', true);

create table accounts (
  account_id    bigint generated always as identity primary key,
  subject_code  text not null references account_subjects,
  unit_id       text not null references accounting_units,
  -- +1 when the subject's normal side is debit, -1 when credit: balance_fen = normal_sign * sum(postings).
  normal_sign   smallint not null check (normal_sign in (-1, 1)),
  cardholder_id bigint references cardholders,
  wallet_kind   text check (wallet_kind in ('main', 'subsidy', 'deposit')),
  merchant_id   text references merchants,
  balance_fen   bigint not null default 0,
  -- The lowest balance a rule allows (0 for wallets); null for internal accounts that may go either way.
  floor_fen     bigint,
  created_at    timestamptz not null default now(),
  check (floor_fen is null or balance_fen >= floor_fen),
  check ((wallet_kind is null) = (cardholder_id is null)),
  check (not (cardholder_id is not null and merchant_id is not null))
);
create unique index accounts_wallet on accounts (cardholder_id, wallet_kind) where cardholder_id is not null;
create unique index accounts_merchant on accounts (merchant_id, subject_code) where merchant_id is not null;
create unique index accounts_unit on accounts (unit_id, subject_code) where cardholder_id is null and merchant_id is null;

-- 结算部门: a multi-level tree of settlement departments; merchants and terminals hang from them.
create table settlement_departments (
  department_id        text primary key check (department_id ~ '^[A-Z0-9-]{2,32}$'),
  parent_department_id text references settlement_departments,
  school_id            text not null references schools,
  name                 text not null check (length(name) between 1 and 100),
  created_at           timestamptz not null default now()
);

-- 独立结算商户 settle themselves; 管理商户 (managed) are groups under one independent merchant, whose
-- payable account takes their takings.
alter table merchants
  add column settlement_kind text not null default 'independent' check (settlement_kind in ('independent', 'managed')),
  add column parent_merchant_id text references merchants,
  add column department_id text references settlement_departments,
  add column unit_id text references accounting_units,
  add constraint merchants_managed_have_parent check ((settlement_kind = 'managed') = (parent_merchant_id is not null));

alter table terminals
  add column department_id text references settlement_departments,
  add column fixed_amount_fen bigint check (fixed_amount_fen > 0),
  add column portion_price_fen bigint check (portion_price_fen > 0);

-- 批次: a named group of cardholders handled together (a graduating year, a team).
alter table cardholders add column batch_code text check (batch_code ~ '^[A-Za-z0-9-]{1,32}$');
create index cardholders_batch on cardholders (batch_code) where batch_code is not null;

-- 卡类别: up to 120, each with its limits, the order its wallets are spent in, and terminals it is barred from.
create table card_categories (
  category_id      smallint primary key check (category_id between 1 and 120),
  name             text not null check (length(name) between 1 and 50),
  per_tx_limit_fen bigint check (per_tx_limit_fen > 0),
  daily_limit_fen  bigint check (daily_limit_fen > 0),
  daily_max_fen    bigint check (daily_max_fen > 0),
  wallet_order     text[] not null default '{subsidy,main}' check (wallet_order <@ '{main,subsidy}' and cardinality(wallet_order) between 1 and 2),
  created_at       timestamptz not null default now()
);
insert into card_categories (category_id, name, per_tx_limit_fen, daily_limit_fen) values
  (1, '学生卡', 5000, 10000), (2, '教工卡', 20000, 50000), (3, '临时卡', 3000, 5000);

create table category_terminal_bars (
  category_id smallint not null references card_categories,
  terminal_id text not null references terminals,
  primary key (category_id, terminal_id)
);

-- The card centre (a later issue) adds the lifecycle, keys and readers; the money core needs these columns.
create table cards (
  card_no          text primary key check (card_no ~ '^[0-9A-F]{8,20}$'),
  cardholder_id    bigint not null references cardholders,
  category_id      smallint not null references card_categories,
  status           text not null default 'active' check (status in ('active', 'frozen', 'blacklisted', 'cancelled')),
  expires_on       date not null,
  pin_hash         text,
  -- Limits the cardholder set at a terminal (消费限额), overriding the category's when present.
  per_tx_limit_fen bigint check (per_tx_limit_fen > 0),
  daily_limit_fen  bigint check (daily_limit_fen > 0),
  spent_on         date,
  spent_fen        bigint not null default 0 check (spent_fen >= 0),
  issued_at        timestamptz not null default now()
);
create index cards_cardholder on cards (cardholder_id);

-- 餐次: scope '*' is the district default; a school's own rows replace it.
create table meal_periods (
  scope          text not null,
  period_code    text not null check (period_code ~ '^[a-z_]{1,20}$'),
  name           text not null,
  starts_at_min  smallint not null check (starts_at_min between 0 and 1439),
  ends_at_min    smallint not null check (ends_at_min between 1 and 1440),
  primary key (scope, period_code),
  check (ends_at_min > starts_at_min)
);
insert into meal_periods values
  ('*', 'breakfast', '早餐', 360, 600), ('*', 'lunch', '午餐', 630, 840),
  ('*', 'dinner', '晚餐', 1020, 1200), ('*', 'late_night', '夜宵', 1260, 1440);

create table menu_items (
  merchant_id text not null references merchants,
  item_code   text not null check (item_code ~ '^[A-Za-z0-9-]{1,20}$'),
  name        text not null,
  price_fen   bigint not null check (price_fen > 0),
  primary key (merchant_id, item_code)
);

create table ledger_transactions (
  transaction_id          bigint generated always as identity primary key,
  request_key             text not null unique,
  kind                    text not null check (kind in ('purchase', 'offline_purchase', 'top_up', 'subsidy_issue', 'subsidy_clearing', 'refund', 'transfer', 'reversal', 'deposit_in', 'deposit_out', 'opening')),
  amount_fen              bigint not null check (amount_fen > 0),
  original_transaction_id bigint references ledger_transactions,
  card_no                 text,
  terminal_id             text,
  merchant_id             text,
  meal_period             text,
  business_date           date not null,
  created_at              timestamptz not null default now(),
  detail                  jsonb
);
create unique index ledger_transactions_one_reversal on ledger_transactions (original_transaction_id) where kind = 'reversal';
create index ledger_transactions_original on ledger_transactions (original_transaction_id) where original_transaction_id is not null;
create index ledger_transactions_merchant_day on ledger_transactions (merchant_id, business_date) where merchant_id is not null;

create table ledger_postings (
  posting_id        bigint generated always as identity primary key,
  transaction_id    bigint not null references ledger_transactions,
  account_id        bigint not null references accounts,
  -- Signed: debit positive, credit negative. The postings of a transaction sum to zero.
  amount_fen        bigint not null check (amount_fen <> 0),
  balance_fen_after bigint not null
);
create index ledger_postings_transaction on ledger_postings (transaction_id);
create index ledger_postings_account on ledger_postings (account_id, posting_id);

create function ledger_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'ledger rows are immutable: % on % refused; write a reversing transaction instead', tg_op, tg_table_name
    using errcode = 'P0001';
end $$;
create trigger ledger_postings_immutable before update or delete on ledger_postings
  for each row execute function ledger_refuse_change();
create trigger ledger_postings_no_truncate before truncate on ledger_postings
  for each statement execute function ledger_refuse_change();
create trigger ledger_transactions_immutable before update or delete on ledger_transactions
  for each row execute function ledger_refuse_change();
create trigger ledger_transactions_no_truncate before truncate on ledger_transactions
  for each statement execute function ledger_refuse_change();

-- The last line of defence behind the application's own assertion: every statement that inserts postings
-- inserts whole transactions, and each sums to zero.
create function ledger_assert_balanced() returns trigger language plpgsql as $$
declare
  unbalanced bigint;
begin
  select transaction_id into unbalanced from new_postings group by transaction_id
    having sum(amount_fen) <> 0 or count(*) < 2 limit 1;
  if found then
    raise exception 'ledger assertion: transaction % does not balance', unbalanced using errcode = 'P0002';
  end if;
  return null;
end $$;
create trigger ledger_postings_balanced after insert on ledger_postings
  referencing new table as new_postings for each statement execute function ledger_assert_balanced();

-- Every write from outside, with the answer it got, so a repeat returns the first answer.
create table ledger_requests (
  request_key    text primary key check (length(request_key) between 1 and 200),
  kind           text not null,
  fingerprint    text not null,
  amount_fen     bigint,
  outcome        text not null,
  transaction_id bigint references ledger_transactions,
  response       jsonb not null,
  created_at     timestamptz not null default now()
);

create table outbox (
  outbox_id     bigint generated always as identity primary key,
  topic         text not null,
  aggregate_key text not null,
  payload       jsonb not null,
  created_at    timestamptz not null default now(),
  published_at  timestamptz
);
create index outbox_unpublished on outbox (outbox_id) where published_at is null;

-- 补助: a batch issued to every cardholder of some card categories or of one cardholder batch.
create table subsidy_batches (
  batch_id         text primary key check (batch_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
  unit_id          text not null references accounting_units,
  amount_fen       bigint not null check (amount_fen > 0),
  target           jsonb not null,
  expires_on       date not null,
  issued_count     integer not null,
  issued_total_fen bigint not null,
  cleared_at       timestamptz,
  cleared_total_fen bigint,
  created_at       timestamptz not null default now()
);
create table subsidy_grants (
  batch_id       text not null references subsidy_batches,
  cardholder_id  bigint not null references cardholders,
  amount_fen     bigint not null check (amount_fen > 0),
  transaction_id bigint not null references ledger_transactions,
  granted_at     timestamptz not null default now(),
  primary key (batch_id, cardholder_id)
);
create index subsidy_grants_cardholder on subsidy_grants (cardholder_id);

-- The card purse mirror: the last on-card balance and counter the server has seen, per card.
create table card_purses (
  card_no        text primary key references cards,
  balance_fen    bigint not null,
  counter        integer not null check (counter >= 0),
  last_record_key text,
  updated_at     timestamptz not null default now()
);
-- Every card counter an offline record used, so a second record with the same counter is caught even
-- when records from several terminals arrive out of order.
create table card_purse_counters (
  card_no    text not null references cards,
  counter    integer not null check (counter >= 0),
  record_key text not null,
  primary key (card_no, counter)
);
-- 卡库不平 and other purse findings, reported rather than hidden.
create table purse_reports (
  report_id   bigint generated always as identity primary key,
  card_no     text not null,
  kind        text not null check (kind in ('counter_gap', 'balance_mismatch', 'duplicate_counter', 'tac_invalid', 'inconsistent_record', 'shortfall')),
  record_key  text not null,
  detail      jsonb not null,
  created_at  timestamptz not null default now()
);
create index purse_reports_card on purse_reports (card_no);

-- Down Migration
drop table purse_reports;
drop table card_purse_counters;
drop table card_purses;
drop table subsidy_grants;
drop table subsidy_batches;
drop table outbox;
drop table ledger_requests;
drop trigger ledger_postings_balanced on ledger_postings;
drop table ledger_postings;
drop table ledger_transactions;
drop function ledger_assert_balanced();
drop function ledger_refuse_change();
drop table menu_items;
drop table meal_periods;
drop table cards;
drop table category_terminal_bars;
drop table card_categories;
drop index cardholders_batch;
alter table cardholders drop column batch_code;
alter table terminals drop column portion_price_fen, drop column fixed_amount_fen, drop column department_id;
alter table merchants drop constraint merchants_managed_have_parent, drop column unit_id, drop column department_id,
  drop column parent_merchant_id, drop column settlement_kind;
drop table settlement_departments;
drop table accounts;
drop table account_subjects;
drop table accounting_units;
