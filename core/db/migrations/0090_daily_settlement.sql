-- Up Migration
-- 日结: each night a statement per settlement department (what each merchant is owed, cross-checked against
-- the terminals' own day totals, with what finance should look at flagged), approved by finance staff
-- with the permission for that department, then posted as a settlement journal with a payout file.

alter table ledger_transactions drop constraint ledger_transactions_kind_check;
alter table ledger_transactions add constraint ledger_transactions_kind_check check (kind in (
  'purchase', 'offline_purchase', 'top_up', 'subsidy_issue', 'subsidy_clearing', 'refund', 'transfer',
  'reversal', 'deposit_in', 'deposit_out', 'opening', 'settlement'));

-- Who may approve settlements: a grant for one department covers the departments under it; a grant with
-- no department covers the district.
create table finance_grants (
  grant_id      bigint generated always as identity primary key,
  operator_id   text not null check (length(operator_id) between 1 and 64),
  permission    text not null check (permission in ('settlement_approve')),
  department_id text references settlement_departments,
  granted_by    text not null check (length(granted_by) between 1 and 64),
  granted_at    timestamptz not null default now(),
  unique nulls not distinct (operator_id, permission, department_id)
);

-- 终端扎帐: a POS's own count and total of a business day, as it reports them at the close.
create table terminal_day_totals (
  terminal_id   text not null references terminals,
  business_date date not null,
  purchases     integer not null check (purchases >= 0),
  amount_fen    bigint not null check (amount_fen >= 0),
  reported_at   timestamptz not null default now(),
  primary key (terminal_id, business_date)
);

create table settlement_statements (
  -- The workflow id, daily-settlement/<date>/<department>: one statement per department and day.
  statement_id   text primary key,
  business_date  date not null,
  department_id  text not null references settlement_departments,
  revision       integer not null default 1,
  state          text not null check (state in ('awaiting_approval', 'approved', 'rejected', 'settled', 'lapsed')),
  prepared_by    text not null,
  prepared_at    timestamptz not null default now(),
  total_fen      bigint not null,
  decided_by     text,
  decided_at     timestamptz,
  decision_reason text,
  payout_file    text,
  payout_sha256  text,
  settled_at     timestamptz,
  reports        jsonb,
  unique (business_date, department_id),
  check ((state in ('approved', 'rejected', 'settled')) = (decided_by is not null)),
  check ((state = 'settled') = (settled_at is not null and payout_file is not null))
);

-- One line per independently settling merchant (its managed merchants' takings are in its payable).
create table settlement_lines (
  statement_id       text not null references settlement_statements on delete cascade,
  merchant_id        text not null references merchants,
  purchases          integer not null,
  purchase_fen       bigint not null,
  offline_purchases  integer not null,
  offline_fen        bigint not null,
  refund_fen         bigint not null,
  reversal_fen       bigint not null,
  -- The day's takings, and what is owed through the day (earlier days' late records included): the payout.
  net_fen            bigint not null,
  payable_fen        bigint not null,
  transaction_id     bigint references ledger_transactions,
  primary key (statement_id, merchant_id)
);

create table settlement_flags (
  flag_id      bigint generated always as identity primary key,
  statement_id text not null references settlement_statements on delete cascade,
  kind         text not null check (kind in ('terminal_totals_differ', 'terminal_totals_missing',
                 'blacklisted_card_purchase', 'reversal', 'offline_records', 'late_offline_records', 'purse_report')),
  merchant_id  text,
  terminal_id  text,
  detail       jsonb not null
);
create index settlement_flags_statement on settlement_flags (statement_id);

-- Down Migration
drop table settlement_flags;
drop table settlement_lines;
drop table settlement_statements;
drop table terminal_day_totals;
drop table finance_grants;
alter table ledger_transactions drop constraint ledger_transactions_kind_check;
alter table ledger_transactions add constraint ledger_transactions_kind_check check (kind in (
  'purchase', 'offline_purchase', 'top_up', 'subsidy_issue', 'subsidy_clearing', 'refund', 'transfer',
  'reversal', 'deposit_in', 'deposit_out', 'opening'));
