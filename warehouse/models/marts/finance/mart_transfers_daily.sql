{{ config(order_by='(school_id, business_date)') }}
-- 转帐报表: transfers between wallets and cards per school and day.
with transactions as (
    select * from {{ ref('stg_onecard_ledger_transactions') }}
    where transaction_kind in ('transfer')
),

final as (
    select
        concat(school_id, ':', toString(business_date)) as transfers_daily_key,
        school_id,
        business_date,
        count() as transfers,
        sum(amount_fen) as amount_fen
    from transactions
    group by school_id, business_date
)

select * from final
