-- Up Migration
-- 密钥管理: bureau master keys per purpose, versioned, stored only wrapped (AES-256-GCM) under a
-- key-encryption key that lives outside the database (core/keys/kek.ts); PSAM key sets for terminals;
-- and an audit row for every generation, rotation, export and use.

create table key_masters (
  key_id       bigint generated always as identity primary key,
  purpose      text not null check (purpose in ('purchase', 'load', 'tac', 'pin_unlock', 'external_auth')),
  algorithm    text not null check (algorithm in ('sm4', '3des')),
  version      smallint not null check (version between 1 and 255),
  status       text not null default 'active' check (status in ('active', 'retired')),
  -- nonce(12) || tag(16) || ciphertext(16); the AAD binds it to purpose, algorithm and version.
  wrapped      bytea not null check (length(wrapped) = 44),
  kek_id       text not null,
  check_value  text not null check (check_value ~ '^[0-9A-F]{6}$'),
  created_by   text not null,
  created_at   timestamptz not null default now(),
  retired_at   timestamptz,
  unique (purpose, algorithm, version)
);
-- At most one active version per purpose and algorithm: rotation retires the old one in the same transaction.
create unique index key_masters_one_active on key_masters (purpose, algorithm) where status = 'active';

-- A PSAM card in a terminal: which school's keys (diversified from which master versions) it holds.
create table psam_cards (
  psam_no      text primary key check (psam_no ~ '^[0-9A-F]{12}$'),
  school_id    text not null references schools,
  terminal_id  text references terminals,
  algorithm    text not null check (algorithm in ('sm4', '3des')),
  key_versions jsonb not null,
  status       text not null default 'active' check (status in ('active', 'revoked')),
  issued_by    text not null,
  issued_at    timestamptz not null default now()
);

create table key_audit (
  audit_id    bigint generated always as identity primary key,
  at          timestamptz not null default now(),
  action      text not null check (action in ('generate', 'rotate', 'export', 'use', 'psam_issue', 'kek_create')),
  purpose     text,
  algorithm   text,
  version     smallint,
  actor       text not null,
  -- What the key was used for (school, card number, PSAM), never key bytes.
  detail      jsonb not null default '{}'
);
create index key_audit_at on key_audit (at);

-- Down Migration
drop table key_audit;
drop table psam_cards;
drop table key_masters;
