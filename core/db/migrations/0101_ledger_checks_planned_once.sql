-- Up Migration
-- The ledger's set-based referential checks (0003, 0098) as static statements that each connection plans
-- once, instead of EXECUTE, which parsed and planned them again for every statement that wrote postings
-- or answers. In the swipe benchmark that planning was a third of the triggers' time, and the triggers an
-- eighth of PostgreSQL's work per purchase batch.
--
-- Why a kept plan is safe here, when 0003 and 0098 planned afresh to avoid one: each check counts the
-- rows of one primary key among the statement's distinct keys (`= any(keys)`), and the functions run with
-- sequential scans off, so the only plan is an index probe of the keys given, whatever the table's size
-- and whatever its statistics say. Only when a key is missing does a second query name it, for the
-- error message; that one is planned when it runs (EXECUTE), as its kept plan could read a whole index.

-- The first of `transaction_ids` (distinct) that is not a transaction, or null: both triggers check it.
create function ledger_missing_transaction(transaction_ids bigint[]) returns bigint language plpgsql stable
  set enable_seqscan = off set plan_cache_mode = force_generic_plan as $$
declare
  missing bigint;
begin
  if transaction_ids is null
     or (select count(*) from ledger_transactions t where t.transaction_id = any(transaction_ids))
        = cardinality(transaction_ids) then
    return null;
  end if;
  execute 'select id from unnest($1) id
            where not exists (select 1 from ledger_transactions t where t.transaction_id = id) limit 1'
    into missing using transaction_ids;
  return missing;
end $$;

create or replace function ledger_assert_balanced() returns trigger language plpgsql
  set enable_seqscan = off set plan_cache_mode = force_generic_plan as $$
declare
  bad bigint;
  transaction_ids bigint[];
  account_ids bigint[];
begin
  select transaction_id into bad from new_postings group by transaction_id
    having sum(amount_fen) <> 0 or count(*) < 2 limit 1;
  if found then
    raise exception 'ledger assertion: transaction % does not balance', bad using errcode = 'P0002';
  end if;
  select array_agg(distinct transaction_id), array_agg(distinct account_id)
    into transaction_ids, account_ids from new_postings;
  bad := ledger_missing_transaction(transaction_ids);
  if bad is not null then
    raise exception 'ledger assertion: postings of transaction % that does not exist', bad
      using errcode = '23503';
  end if;
  if (select count(*) from accounts a where a.account_id = any(account_ids)) < cardinality(account_ids) then
    execute 'select id from unnest($1) id
              where not exists (select 1 from accounts a where a.account_id = id) limit 1'
      into bad using account_ids;
    raise exception 'ledger assertion: a posting on account % that does not exist', bad
      using errcode = '23503';
  end if;
  return null;
end $$;

create or replace function ledger_requests_assert_transactions() returns trigger language plpgsql
  set enable_seqscan = off set plan_cache_mode = force_generic_plan as $$
declare
  bad bigint;
begin
  bad := ledger_missing_transaction(
    array(select distinct transaction_id from new_requests where transaction_id is not null));
  if bad is not null then
    raise exception 'ledger assertion: a request answered by transaction % that does not exist', bad
      using errcode = '23503';
  end if;
  return null;
end $$;

-- Down Migration
create or replace function ledger_assert_balanced() returns trigger language plpgsql as $$
declare
  bad bigint;
  transaction_ids bigint[];
  account_ids bigint[];
  missing_transaction bigint;
  missing_account bigint;
begin
  select transaction_id into bad from new_postings group by transaction_id
    having sum(amount_fen) <> 0 or count(*) < 2 limit 1;
  if found then
    raise exception 'ledger assertion: transaction % does not balance', bad using errcode = 'P0002';
  end if;
  select array_agg(distinct transaction_id), array_agg(distinct account_id)
    into transaction_ids, account_ids from new_postings;
  -- EXECUTE plans the probes afresh for each statement, with its keys (see 0003).
  execute 'select (select id from unnest($1) id
                    where not exists (select 1 from ledger_transactions t where t.transaction_id = id) limit 1),
                  (select id from unnest($2) id
                    where not exists (select 1 from accounts a where a.account_id = id) limit 1)'
    into missing_transaction, missing_account using transaction_ids, account_ids;
  if missing_transaction is not null then
    raise exception 'ledger assertion: postings of transaction % that does not exist', missing_transaction
      using errcode = '23503';
  end if;
  if missing_account is not null then
    raise exception 'ledger assertion: a posting on account % that does not exist', missing_account
      using errcode = '23503';
  end if;
  return null;
end $$;

create or replace function ledger_requests_assert_transactions() returns trigger language plpgsql as $$
declare
  bad bigint;
begin
  execute 'select id from unnest($1) id
            where not exists (select 1 from ledger_transactions t where t.transaction_id = id) limit 1'
    into bad
    using array(select distinct transaction_id from new_requests where transaction_id is not null);
  if bad is not null then
    raise exception 'ledger assertion: a request answered by transaction % that does not exist', bad using errcode = '23503';
  end if;
  return null;
end $$;

drop function ledger_missing_transaction(bigint[]);
