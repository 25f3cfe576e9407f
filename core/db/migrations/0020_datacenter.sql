-- Up Migration
-- The data center's side of the book of record (issue 6):
--  * swipes: non-money card swipes (gates, dorms, class attendance, buses, access control), idempotent on
--    terminal id + record sequence, each written with its outbox event in one statement;
--  * dimension changes (schools, merchants, terminals, cardholders, card categories, cards) and purse
--    findings (卡库不平) reach the outbox through triggers, in the transaction that made them;
--  * outbox_rejects: events the relay could not load, set aside with their reason.

create table swipes (
  terminal_id  text not null,
  terminal_seq bigint not null check (terminal_seq >= 0),
  card_no      text not null,
  kind         text not null check (kind in ('gate_in', 'gate_out', 'dorm_in', 'dorm_out', 'class', 'bus_on', 'bus_off', 'access')),
  swiped_at    timestamptz not null,
  received_at  timestamptz not null default now(),
  primary key (terminal_id, terminal_seq)
);

-- Replay reads a day of the outbox by its creation time; BRIN costs next to nothing on an append-only table.
create index outbox_created_brin on outbox using brin (created_at);

create table outbox_rejects (
  outbox_id   bigint primary key references outbox,
  topic       text not null,
  reason      text not null,
  rejected_at timestamptz not null default now()
);

-- One trigger function for every dimension: the new row, whole, as the event payload.
create function datacenter_dimension_event() returns trigger language plpgsql as $$
begin
  -- A PIN hash never leaves the card table; daily spending is not a dimension.
  insert into outbox (topic, aggregate_key, payload)
  select 'dim.' || tg_table_name, r ->> tg_argv[0], r || jsonb_build_object('_key', r ->> tg_argv[0])
    from (select to_jsonb(new) - 'pin_hash' - 'spent_on' - 'spent_fen' as r) x;
  return null;
end $$;

create trigger schools_to_outbox after insert or update on schools
  for each row execute function datacenter_dimension_event('school_id');
create trigger merchants_to_outbox after insert or update on merchants
  for each row execute function datacenter_dimension_event('merchant_id');
create trigger terminals_to_outbox after insert or update on terminals
  for each row execute function datacenter_dimension_event('terminal_id');
create trigger cardholders_to_outbox after insert or update on cardholders
  for each row execute function datacenter_dimension_event('cardholder_id');
create trigger card_categories_to_outbox after insert or update on card_categories
  for each row execute function datacenter_dimension_event('category_id');
-- Cards: not on every purchase (spent_on/spent_fen change then), only when what a report needs changes.
create trigger cards_to_outbox_insert after insert on cards
  for each row execute function datacenter_dimension_event('card_no');
create trigger cards_to_outbox_update after update of status, category_id, cardholder_id, expires_on on cards
  for each row when (old.status is distinct from new.status or old.category_id is distinct from new.category_id
                     or old.cardholder_id is distinct from new.cardholder_id or old.expires_on is distinct from new.expires_on)
  execute function datacenter_dimension_event('card_no');

create function datacenter_purse_report_event() returns trigger language plpgsql as $$
begin
  insert into outbox (topic, aggregate_key, payload) values ('purse.report', new.card_no, to_jsonb(new));
  return null;
end $$;
create trigger purse_reports_to_outbox after insert on purse_reports
  for each row execute function datacenter_purse_report_event();

-- What existed before these triggers, once, so the warehouse's dimensions start complete.
insert into outbox (topic, aggregate_key, payload)
select 'dim.schools', school_id, to_jsonb(s) || jsonb_build_object('_key', s.school_id) from schools s
union all select 'dim.merchants', merchant_id, to_jsonb(m) || jsonb_build_object('_key', m.merchant_id) from merchants m
union all select 'dim.terminals', terminal_id, to_jsonb(t) || jsonb_build_object('_key', t.terminal_id) from terminals t
union all select 'dim.cardholders', cardholder_id::text, to_jsonb(h) || jsonb_build_object('_key', h.cardholder_id::text) from cardholders h
union all select 'dim.card_categories', category_id::text, to_jsonb(c) || jsonb_build_object('_key', c.category_id::text) from card_categories c
union all select 'dim.cards', card_no, (to_jsonb(c) - 'pin_hash' - 'spent_on' - 'spent_fen') || jsonb_build_object('_key', c.card_no) from cards c;

-- Down Migration
drop trigger purse_reports_to_outbox on purse_reports;
drop function datacenter_purse_report_event();
drop trigger cards_to_outbox_update on cards;
drop trigger cards_to_outbox_insert on cards;
drop trigger card_categories_to_outbox on card_categories;
drop trigger cardholders_to_outbox on cardholders;
drop trigger terminals_to_outbox on terminals;
drop trigger merchants_to_outbox on merchants;
drop trigger schools_to_outbox on schools;
drop function datacenter_dimension_event();
drop table outbox_rejects;
drop index outbox_created_brin;
drop table swipes;
