-- Up Migration
-- The relay's progress through the outbox is a high-water mark per consumer, not a write per event.
--
-- Every outbox row records the id of the transaction that wrote it (tx_id). A consumer reads rows in
-- (tx_id, outbox_id) order, and only rows whose transaction is older than the oldest one still running
-- (pg_snapshot_xmin of the current snapshot): those transactions have all committed or aborted, so no row
-- can ever appear behind a key once it is read past. The consumer stores the last key it delivered in
-- outbox_cursors, one row per consumer, in the transaction that records its rejects. Events are never
-- updated after they are written, so the outbox is append-only until retention deletes published rows.

-- Rows written before this migration get tx_id 0: a transaction that took its id before this one and
-- writes to the outbox after it (it waited on this migration's lock) still lands beyond the seed cursor.
alter table outbox add column tx_id xid8 not null default '0';
alter table outbox alter column tx_id set default pg_current_xact_id();
create index outbox_by_transaction on outbox (tx_id, outbox_id);

create table outbox_cursors (
  -- '<consumer> <index>/<count>': a loop relays the events whose outbox_id modulo count is index.
  consumer    text primary key check (consumer ~ '^[a-z_]+ [0-9]+/[0-9]+$'),
  part_index  int not null check (part_index >= 0),
  part_count  int not null check (part_count > part_index),
  tx_id       xid8 not null,
  outbox_id   bigint not null,
  advanced_at timestamptz not null default now()
);

-- The warehouse relay starts where published_at said it was: just before the first unpublished event,
-- or after the last event when every one was published (events beyond are sent again: at least once).
insert into outbox_cursors (consumer, part_index, part_count, tx_id, outbox_id)
select 'warehouse 0/1', 0, 1, '0',
       coalesce((select min(outbox_id) - 1 from outbox where published_at is null),
                (select max(outbox_id) from outbox), 0);

drop index outbox_unpublished;
alter table outbox drop column published_at;

-- Down Migration
alter table outbox add column published_at timestamptz;
update outbox o set published_at = now()
 where (o.tx_id, o.outbox_id) <= (select c.tx_id, c.outbox_id from outbox_cursors c
                                    where c.consumer like 'warehouse %' order by c.tx_id, c.outbox_id limit 1);
create index outbox_unpublished on outbox (outbox_id) where published_at is null;
drop table outbox_cursors;
drop index outbox_by_transaction;
alter table outbox drop column tx_id;
