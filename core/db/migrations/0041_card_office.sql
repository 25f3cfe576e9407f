-- Up Migration
-- 卡务中心: the organisation a school's cards hang from (campuses, multi-level cardholder departments,
-- identities with parameter groups, batches), the card data of the requirement's 卡信息结构, the card
-- office's idempotent requests and audit trail, and card issuance through a reader (resumable).

create table campuses (
  campus_id  text primary key check (campus_id ~ '^[A-Z0-9-]{2,32}$'),
  school_id  text not null references schools,
  name       text not null check (length(name) between 1 and 100),
  created_at timestamptz not null default now()
);

-- 客户部门: multi-level (a grade, a class under it; an office under a faculty).
create table cardholder_departments (
  department_id        text primary key check (department_id ~ '^[A-Z0-9-]{2,32}$'),
  school_id            text not null references schools,
  campus_id            text references campuses,
  parent_department_id text references cardholder_departments,
  name                 text not null check (length(name) between 1 and 100),
  created_at           timestamptz not null default now()
);

-- 身份 with its parameter group (default category, validity, deposit); kind is the predefined type.
create table identities (
  identity_code   text primary key check (identity_code ~ '^[a-z0-9_]{1,32}$'),
  kind            text not null check (kind in ('student', 'staff', 'temporary')),
  name            text not null check (length(name) between 1 and 50),
  parameter_group jsonb not null default '{}',
  created_at      timestamptz not null default now()
);
insert into identities (identity_code, kind, name, parameter_group) values
  ('student', 'student', '学生', '{"defaultCategoryId": 1, "validityYears": 6, "depositFen": 0}'),
  ('teacher', 'staff', '教师', '{"defaultCategoryId": 2, "validityYears": 10, "depositFen": 0}'),
  ('staff', 'staff', '职工', '{"defaultCategoryId": 2, "validityYears": 10, "depositFen": 0}'),
  ('temporary', 'temporary', '临时人员', '{"defaultCategoryId": 3, "validityYears": 1, "depositFen": 0}');

create table cardholder_batches (
  school_id      text not null references schools,
  batch_code     text not null check (batch_code ~ '^[A-Za-z0-9-]{1,32}$'),
  name           text not null check (length(name) between 1 and 100),
  kind           text not null check (kind in ('graduation', 'group')),
  graduates_on   date,
  graduated_at   timestamptz,
  created_at     timestamptz not null default now(),
  primary key (school_id, batch_code)
);

alter table card_categories add column subsidy_amount_fen bigint check (subsidy_amount_fen >= 0);

alter table cardholders
  add column identity_code text references identities,
  add column department_id text references cardholder_departments,
  add column campus_id text references campuses,
  add column status text not null default 'active' check (status in ('active', 'left')),
  add column fingerprint_template bytea check (length(fingerprint_template) <= 4096),
  add column updated_at timestamptz not null default now();
create index cardholders_department on cardholders (department_id) where department_id is not null;

create table cardholder_photos (
  cardholder_id bigint primary key references cardholders,
  mime_type     text not null check (mime_type in ('image/jpeg', 'image/png')),
  content       bytea not null check (length(content) between 1 and 2097152),
  updated_at    timestamptz not null default now()
);

-- The card data of 卡信息结构 beside what the money core put in 0002.
create sequence card_no_seq;
alter table cards
  add column card_kind text not null default 'user' check (card_kind in ('user', 'operator', 'cashier', 'parameter')),
  add column purpose text not null default 'campus' check (length(purpose) between 1 and 32),
  add column card_flag text not null default 'normal' check (card_flag in ('normal', 'replacement')),
  add column validity_mode text not null default 'fixed' check (validity_mode in ('fixed', 'years_from_issue', 'until_graduation')),
  add column reissue_count smallint not null default 0 check (reissue_count between 0 and 255),
  add column chip_serial text check (chip_serial ~ '^[0-9A-F]{16}$'),
  add column key_algorithm text check (key_algorithm in ('sm4', '3des')),
  add column key_versions jsonb,
  add column replaces_card_no text references cards,
  add column status_reason text,
  add column status_changed_at timestamptz,
  add column pin_failures smallint not null default 0;
create unique index cards_one_chip on cards (chip_serial) where chip_serial is not null and status <> 'cancelled';
-- A cardholder has at most one user card that is not cancelled.
create unique index cards_one_live_user_card on cards (cardholder_id) where card_kind = 'user' and status <> 'cancelled';

create table card_office_requests (
  request_key text primary key check (length(request_key) between 1 and 200),
  kind        text not null,
  fingerprint text not null,
  response    jsonb not null,
  created_at  timestamptz not null default now()
);

create table card_office_audit (
  audit_id      bigint generated always as identity primary key,
  at            timestamptz not null default now(),
  operator_id   text not null,
  action        text not null,
  school_id     text,
  cardholder_id bigint,
  card_no       text,
  request_key   text,
  detail        jsonb not null default '{}'
);
create index card_office_audit_card on card_office_audit (card_no) where card_no is not null;

-- Issuing through a reader: the card number is reserved first, the chip written, and only then the card
-- row made; an issuance that stops half way is resumed on the same chip or rolled back.
create table card_issuances (
  issuance_id   bigint generated always as identity primary key,
  request_key   text not null unique,
  school_id     text not null references schools,
  cardholder_id bigint not null references cardholders,
  card_no       text not null unique check (card_no ~ '^[0-9A-F]{16}$'),
  chip_serial   text check (chip_serial ~ '^[0-9A-F]{16}$'),
  state         text not null default 'reserved' check (state in ('reserved', 'writing', 'finished', 'rolled_back')),
  spec          jsonb not null,
  started_at    timestamptz not null default now(),
  finished_at   timestamptz
);

-- Down Migration
drop table card_issuances;
drop table card_office_audit;
drop table card_office_requests;
drop index cards_one_live_user_card;
drop index cards_one_chip;
alter table cards drop column pin_failures, drop column status_changed_at, drop column status_reason,
  drop column replaces_card_no, drop column key_versions, drop column key_algorithm, drop column chip_serial,
  drop column reissue_count, drop column validity_mode, drop column card_flag, drop column purpose, drop column card_kind;
drop sequence card_no_seq;
drop table cardholder_photos;
alter table cardholders drop column updated_at, drop column fingerprint_template, drop column status,
  drop column campus_id, drop column department_id, drop column identity_code;
alter table card_categories drop column subsidy_amount_fen;
drop table cardholder_batches;
drop table identities;
drop table cardholder_departments;
drop table campuses;
