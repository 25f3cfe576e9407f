-- Up Migration
-- Referential checks of the ledger's hot path, set-based instead of row by row.
--
-- Why: a foreign key is checked by a per-row query whose plan each backend prepares once and keeps. A
-- connection opened while ledger_transactions was small keeps a sequential-scan plan for it, so every
-- posting a long-lived pooled connection writes scans the whole table: in the swipe benchmark one
-- 64-purchase write went from 7 ms to 165 ms within a few thousand purchases. The same guarantees now
-- come from one query per statement over the statement's new rows, planned afresh each time (EXECUTE),
-- and from refusing to delete what postings point at (transactions already refuse every change).

alter table ledger_postings drop constraint ledger_postings_transaction_id_fkey;
alter table ledger_postings drop constraint ledger_postings_account_id_fkey;
alter table ledger_requests drop constraint ledger_requests_transaction_id_fkey;

-- Every statement that inserts postings inserts whole transactions that exist, against accounts that
-- exist, and each sums to zero.
create or replace function ledger_assert_balanced() returns trigger language plpgsql as $$
declare
  bad bigint;
begin
  select transaction_id into bad from new_postings group by transaction_id
    having sum(amount_fen) <> 0 or count(*) < 2 limit 1;
  if found then
    raise exception 'ledger assertion: transaction % does not balance', bad using errcode = 'P0002';
  end if;
  execute 'select n.transaction_id from new_postings n
             where not exists (select 1 from ledger_transactions t where t.transaction_id = n.transaction_id) limit 1'
    into bad;
  if bad is not null then
    raise exception 'ledger assertion: postings of transaction % that does not exist', bad using errcode = '23503';
  end if;
  execute 'select n.account_id from new_postings n
             where not exists (select 1 from accounts a where a.account_id = n.account_id) limit 1'
    into bad;
  if bad is not null then
    raise exception 'ledger assertion: a posting on account % that does not exist', bad using errcode = '23503';
  end if;
  return null;
end $$;

create function ledger_requests_assert_transactions() returns trigger language plpgsql as $$
declare
  bad bigint;
begin
  execute 'select r.transaction_id from new_requests r
             where r.transaction_id is not null
               and not exists (select 1 from ledger_transactions t where t.transaction_id = r.transaction_id) limit 1'
    into bad;
  if bad is not null then
    raise exception 'ledger assertion: a request answered by transaction % that does not exist', bad using errcode = '23503';
  end if;
  return null;
end $$;
create trigger ledger_requests_transactions_exist after insert on ledger_requests
  referencing new table as new_requests for each statement execute function ledger_requests_assert_transactions();

-- An account that has postings is part of the books: it is never deleted.
create function ledger_refuse_account_delete() returns trigger language plpgsql as $$
begin
  if exists (select 1 from ledger_postings p where p.account_id = old.account_id) then
    raise exception 'account % has postings and cannot be deleted', old.account_id using errcode = '23503';
  end if;
  return old;
end $$;
create trigger accounts_with_postings_stay before delete on accounts
  for each row execute function ledger_refuse_account_delete();

-- Down Migration
drop trigger accounts_with_postings_stay on accounts;
drop function ledger_refuse_account_delete();
drop trigger ledger_requests_transactions_exist on ledger_requests;
drop function ledger_requests_assert_transactions();
create or replace function ledger_assert_balanced() returns trigger language plpgsql as $$
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
alter table ledger_requests add constraint ledger_requests_transaction_id_fkey
  foreign key (transaction_id) references ledger_transactions;
alter table ledger_postings add constraint ledger_postings_account_id_fkey
  foreign key (account_id) references accounts;
alter table ledger_postings add constraint ledger_postings_transaction_id_fkey
  foreign key (transaction_id) references ledger_transactions;
