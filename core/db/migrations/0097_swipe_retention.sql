-- Up Migration
-- Retention of the swipes table: it is the terminals' idempotency store (terminal id + record sequence),
-- and every swipe also reaches the warehouse, so rows older than SWIPE_RETENTION_DAYS are deleted by the
-- relay process in bounded batches. A BRIN index on the arrival time finds them at next to no cost on an
-- append-only table. A record re-sent after its row was deleted is stored again; the warehouse's key
-- (terminal, sequence number) keeps one copy.
create index swipes_received_brin on swipes using brin (received_at);

-- Down Migration
drop index swipes_received_brin;
