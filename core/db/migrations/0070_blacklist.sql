-- Up Migration
-- 黑名单: one row per card that terminals must refuse, versioned so a terminal can be sent what changed
-- since the version it last confirmed. A removal keeps the row (removed_version set) so a delta can say
-- "take this card off"; a card listed again gets a new added_version and loses its removed_version.
create sequence blacklist_version_seq;

create table blacklist_batches (
  batch_id    text primary key check (batch_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
  reason      text not null,
  created_at  timestamptz not null default now()
);

create table blacklist_entries (
  card_no          text primary key,
  -- Two levels: a batch list (a whole class of cards at once) or a scattered entry (one card).
  level            text not null check (level in ('batch', 'scattered')),
  batch_id         text references blacklist_batches (batch_id),
  reason           text not null,
  -- A freeze is pushed to terminals at once instead of waiting for their next fetch.
  priority         boolean not null default false,
  added_version    bigint not null,
  removed_version  bigint,
  removed_reason   text,
  listed_at        timestamptz not null default now(),
  removed_at       timestamptz,
  check ((level = 'batch') = (batch_id is not null)),
  check (removed_version is null or removed_version > added_version)
);
create index blacklist_entries_added on blacklist_entries (added_version);
create index blacklist_entries_removed on blacklist_entries (removed_version) where removed_version is not null;

create table blacklist_terminals (
  terminal_id        text primary key,
  confirmed_version  bigint not null default 0,
  confirmed_at       timestamptz,
  last_fetch_at      timestamptz,
  -- Set when the non-confirming alert fired; cleared by the next confirmation.
  alerted_at         timestamptz
);

-- Every list sent to a terminal (delta or full) and every confirmation it sent back.
create table blacklist_distributions (
  distribution_id  bigint generated always as identity primary key,
  terminal_id      text not null references blacklist_terminals (terminal_id),
  kind             text not null check (kind in ('delta', 'full', 'priority', 'confirmation', 'alert')),
  from_version     bigint,
  to_version       bigint not null,
  entry_count      integer not null default 0,
  at               timestamptz not null default now()
);
create index blacklist_distributions_terminal on blacklist_distributions (terminal_id, distribution_id);

-- Down Migration
drop table blacklist_distributions;
drop table blacklist_terminals;
drop table blacklist_entries;
drop table blacklist_batches;
drop sequence blacklist_version_seq;
