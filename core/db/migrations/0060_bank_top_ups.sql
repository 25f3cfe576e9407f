-- Up Migration
-- Bank top-up approved by the parent's SMS reply (网银圈存): who may approve for a card, every SMS in and
-- out with its delivery statuses, the bank's signed callbacks, and one reconciliation row per top-up.

-- The parent bound to a card: the phone that approves top-ups and the bank card they are paid from.
-- The bank card is a token the bank issued at binding time; a full card number is never stored.
create table parent_bindings (
  card_no                   text primary key references cards,
  guardian_phone            text not null check (guardian_phone ~ '^\+[1-9][0-9]{6,14}$'),
  guardian_name             text check (length(guardian_name) between 1 and 50),
  bank_card_token           text not null check (bank_card_token ~ '^tok_[A-Za-z0-9_]{8,64}$'),
  bank_card_last4           text check (bank_card_last4 ~ '^[0-9]{4}$'),
  low_balance_threshold_fen bigint check (low_balance_threshold_fen >= 0),
  top_up_amount_fen         bigint not null default 10000 check (top_up_amount_fen > 0),
  created_at                timestamptz not null default now()
);
create index parent_bindings_phone on parent_bindings (guardian_phone);

-- Every SMS: outbound ones keyed by the sender's idempotency key (workflow id + activity id), inbound
-- ones by Twilio's MessageSid, so a repeat of either is recognised.
create table sms_messages (
  message_id      bigint generated always as identity primary key,
  direction       text not null check (direction in ('outbound', 'inbound')),
  sid             text unique check (sid ~ '^(SM|MM)[0-9a-f]{32}$'),
  idempotency_key text unique check (length(idempotency_key) between 1 and 300),
  mode            text not null check (mode in ('twilio', 'outbox')),
  from_phone      text not null,
  to_phone        text not null,
  body            text not null check (length(body) between 1 and 1600),
  template        text,
  workflow_id     text,
  status          text not null,
  -- Inbound only: what the webhook did with it (routed to a workflow, or why not).
  outcome         text check (outcome in ('received', 'signalled', 'sender_not_bound', 'no_waiting_top_up')),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  check ((direction = 'outbound') = (idempotency_key is not null)),
  check ((direction = 'inbound') = (outcome is not null))
);
create index sms_messages_workflow on sms_messages (workflow_id) where workflow_id is not null;

-- Delivery status callbacks, as Twilio sent them (one row per status change; repeats ignored).
create table sms_status_events (
  sid         text not null,
  status      text not null check (status ~ '^[a-z_-]{2,20}$'),
  error_code  text,
  received_at timestamptz not null default now(),
  primary key (sid, status)
);

-- One row per top-up workflow: the reconciliation record (圈存对账) of what the bank took and the
-- ledger credited, with the hash of the one-time code the parent must quote.
create table bank_top_ups (
  workflow_id             text primary key,
  card_no                 text not null references cards,
  school_id               text not null,
  amount_fen              bigint not null check (amount_fen > 0),
  trigger                 text not null check (trigger in ('low_balance', 'parent_request')),
  guardian_phone          text not null,
  code_hash               text,
  status                  text not null check (status in ('awaiting_reply', 'approved', 'declined', 'expired',
                            'bank_declined', 'debited', 'credited', 'refunded', 'completed')),
  bank_debit_id           text unique,
  bank_refund_id          text unique,
  ledger_transaction_id   bigint references ledger_transactions,
  bank_confirmed_at       timestamptz,
  detail                  jsonb not null default '{}',
  created_at              timestamptz not null default now(),
  updated_at              timestamptz not null default now()
);
create index bank_top_ups_waiting on bank_top_ups (guardian_phone) where status = 'awaiting_reply';
create index bank_top_ups_card on bank_top_ups (card_no, created_at);

-- The bank's signed callbacks, each stored once by its event id.
create table bank_callbacks (
  event_id    text primary key check (length(event_id) between 1 and 100),
  type        text not null,
  debit_id    text not null,
  amount_fen  bigint not null,
  payload     jsonb not null,
  received_at timestamptz not null default now()
);

-- Down Migration
drop table bank_callbacks;
drop table bank_top_ups;
drop table sms_status_events;
drop table sms_messages;
drop table parent_bindings;
