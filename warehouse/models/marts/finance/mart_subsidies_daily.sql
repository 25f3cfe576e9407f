{{ config(order_by='(subsidy_batch_id, business_date)') }}
-- 补助报表: subsidy grants and clearings per batch and day.
with transactions as (
    select * from {{ ref('stg_onecard_ledger_transactions') }}
    where transaction_kind in ('subsidy_issue', 'subsidy_clearing')
),

final as (
    select
        concat(subsidy_batch_id, ':', toString(business_date)) as subsidies_daily_key,
        subsidy_batch_id,
        business_date,
        any(school_id) as batch_school_id,
        countIf(transaction_kind = 'subsidy_issue') as grants,
        sumIf(amount_fen, transaction_kind = 'subsidy_issue') as issued_fen,
        countIf(transaction_kind = 'subsidy_clearing') as clearings,
        sumIf(amount_fen, transaction_kind = 'subsidy_clearing') as cleared_fen,
        issued_fen - cleared_fen as net_issued_fen
    from transactions
    group by subsidy_batch_id, business_date
)

select * from final
