-- Up Migration
-- The ledger's set-based referential checks (0003) look up a statement's transactions and accounts by
-- primary key, through `= any(array)`, instead of anti-joining the whole table.
--
-- Why: the anti-join's plan follows the table statistics, and ledger_transactions grows faster than
-- autovacuum analyses it. With the statistics of a smaller table the planner hashed all of
-- ledger_transactions for every batch: in the swipe benchmark that scan took 6 ms of a 14 ms purchase
-- batch at 22,000 transactions, and it grew with the table. A lookup of each key costs a few index pages
-- whatever the table's size and whatever the statistics say.

create or replace function ledger_assert_balanced() returns trigger language plpgsql as $$
declare
  bad bigint;
  transaction_ids bigint[];
  account_ids bigint[];
  transactions_found bigint;
  accounts_found bigint;
begin
  select transaction_id into bad from new_postings group by transaction_id
    having sum(amount_fen) <> 0 or count(*) < 2 limit 1;
  if found then
    raise exception 'ledger assertion: transaction % does not balance', bad using errcode = 'P0002';
  end if;
  select array_agg(distinct transaction_id), array_agg(distinct account_id)
    into transaction_ids, account_ids from new_postings;
  if transaction_ids is null then
    return null;
  end if;
  -- EXECUTE plans the lookups afresh for each statement, with its keys (see 0003).
  execute 'select (select count(*) from ledger_transactions where transaction_id = any($1)),
                  (select count(*) from accounts where account_id = any($2))'
    into transactions_found, accounts_found using transaction_ids, account_ids;
  if transactions_found < cardinality(transaction_ids) then
    execute 'select id from unnest($1) id
              where not exists (select 1 from ledger_transactions t where t.transaction_id = id) limit 1'
      into bad using transaction_ids;
    raise exception 'ledger assertion: postings of transaction % that does not exist', bad using errcode = '23503';
  end if;
  if accounts_found < cardinality(account_ids) then
    execute 'select id from unnest($1) id
              where not exists (select 1 from accounts a where a.account_id = id) limit 1'
      into bad using account_ids;
    raise exception 'ledger assertion: a posting on account % that does not exist', bad using errcode = '23503';
  end if;
  return null;
end $$;

create or replace function ledger_requests_assert_transactions() returns trigger language plpgsql as $$
declare
  bad bigint;
  transaction_ids bigint[];
  transactions_found bigint;
begin
  select array_agg(distinct transaction_id) into transaction_ids
    from new_requests where transaction_id is not null;
  if transaction_ids is null then
    return null;
  end if;
  execute 'select count(*) from ledger_transactions where transaction_id = any($1)'
    into transactions_found using transaction_ids;
  if transactions_found < cardinality(transaction_ids) then
    execute 'select id from unnest($1) id
              where not exists (select 1 from ledger_transactions t where t.transaction_id = id) limit 1'
      into bad using transaction_ids;
    raise exception 'ledger assertion: a request answered by transaction % that does not exist', bad using errcode = '23503';
  end if;
  return null;
end $$;

-- Down Migration
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

create or replace function ledger_requests_assert_transactions() returns trigger language plpgsql as $$
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
