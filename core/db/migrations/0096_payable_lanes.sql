-- Up Migration
-- Merchant payable lanes: an independent merchant's payable (subject 2101) is split into a fixed set of
-- accounts, lane 0 to 7, all under the same subject, unit and merchant.
--
-- Why: every online purchase credits its merchant's payable, so with one account per merchant every
-- purchase batch of a canteen locked the same row from its lock step through its commit, and batches
-- queued on it (the swipe benchmark's ceiling). Each batch slot of the API now credits its own lane, so
-- batches in flight never wait for each other on it. The subject, unit and merchant are unchanged, so
-- reports that sum postings by subject or merchant (the warehouse marts) see the same totals; the
-- merchant's payable is the sum of its lanes. Lane 0 is the one every other writer (offline uploads,
-- reversals of old purchases go to their original accounts) uses.

alter table accounts add column lane smallint not null default 0 check (lane between 0 and 7);
alter table accounts add constraint accounts_lanes_are_merchant_payables
  check (lane = 0 or (merchant_id is not null and subject_code = '2101'));
drop index accounts_merchant;
create unique index accounts_merchant on accounts (merchant_id, subject_code, lane) where merchant_id is not null;

insert into accounts (subject_code, unit_id, normal_sign, merchant_id, lane)
select a.subject_code, a.unit_id, a.normal_sign, a.merchant_id, l.lane
  from accounts a, generate_series(1, 7) as l(lane)
 where a.merchant_id is not null and a.subject_code = '2101' and a.lane = 0
on conflict do nothing;

-- Down Migration
-- Refused (by accounts_with_postings_stay) once a lane has postings: they are part of the books.
delete from accounts where lane > 0;
drop index accounts_merchant;
create unique index accounts_merchant on accounts (merchant_id, subject_code) where merchant_id is not null;
alter table accounts drop constraint accounts_lanes_are_merchant_payables;
alter table accounts drop column lane;
