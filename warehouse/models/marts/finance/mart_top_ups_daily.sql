{{ config(order_by='(school_id, business_date, top_up_method)') }}
-- 充值报表: top-ups per school, day and method.
with transactions as (
    select * from {{ ref('stg_onecard_ledger_transactions') }}
    where transaction_kind in ('top_up')
),

final as (
    select
        concat(school_id, ':', toString(business_date), ':', top_up_method) as top_ups_daily_key,
        school_id,
        business_date,
        top_up_method,
        count() as top_ups,
        sum(amount_fen) as amount_fen,
        uniqExact(cardholder_id) as cardholders
    from transactions
    group by school_id, business_date, top_up_method
)

select * from final
