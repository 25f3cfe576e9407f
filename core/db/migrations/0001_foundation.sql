-- Up Migration
-- The first tables of the district: schools, merchants, terminals, cardholders, and the launcher's
-- self-check. The money core and the card centre extend them in later migrations.

create table schools (
  school_id   text primary key check (school_id ~ '^[A-Z0-9-]{2,32}$'),
  name        text not null check (length(name) between 1 and 100),
  district    text not null,
  kind        text not null check (kind in ('primary', 'middle', 'high', 'nine_year', 'kindergarten')),
  created_at  timestamptz not null default now()
);

create table merchants (
  merchant_id text primary key check (merchant_id ~ '^[A-Z0-9-]{2,32}$'),
  school_id   text not null references schools,
  name        text not null check (length(name) between 1 and 100),
  kind        text not null check (kind in ('canteen', 'shop', 'service')),
  created_at  timestamptz not null default now()
);

create table terminals (
  terminal_id text primary key check (terminal_id ~ '^[A-Z0-9-]{2,32}$'),
  school_id   text not null references schools,
  merchant_id text references merchants,
  kind        text not null check (kind in ('pos', 'gate', 'dorm', 'attendance', 'bus', 'access', 'kiosk')),
  status      text not null default 'active' check (status in ('active', 'disabled')),
  created_at  timestamptz not null default now(),
  -- Only purchase and load terminals take money, so only they belong to a merchant.
  check ((kind in ('pos', 'kiosk')) = (merchant_id is not null))
);

create table cardholders (
  cardholder_id bigint generated always as identity primary key,
  school_id     text not null references schools,
  kind          text not null check (kind in ('student', 'staff', 'temporary')),
  -- 学籍号 for students, 工号 for staff: unique within a school.
  person_no     text not null check (length(person_no) between 1 and 32),
  name          text not null check (length(name) between 1 and 50),
  gender        text not null check (gender in ('F', 'M', 'U')),
  grade         smallint check (grade between 0 and 12),
  class_name    text,
  created_at    timestamptz not null default now(),
  unique (school_id, person_no)
);

create table system_self_checks (
  check_id    text primary key,
  started_at  timestamptz not null,
  recorded_at timestamptz not null default now(),
  detail      jsonb not null
);

-- Down Migration
drop table system_self_checks;
drop table cardholders;
drop table terminals;
drop table merchants;
drop table schools;
