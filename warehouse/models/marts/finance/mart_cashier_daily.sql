{{ config(order_by='(unit_id, business_date, transaction_kind)') }}
-- 出纳报表: cash in and out of each accounting unit's cash account (科目 1001) per day and kind.
with postings as (
    select * from {{ ref('stg_onecard_ledger_postings') }}
    where subject_code = '1001'
),

final as (
    select
        concat(unit_id, ':', toString(business_date), ':', transaction_kind) as unit_day_kind_key,
        unit_id,
        business_date,
        transaction_kind,
        uniqExact(transaction_id)   as transactions,
        sum(debit_fen)              as cash_in_fen,
        sum(credit_fen)             as cash_out_fen,
        cash_in_fen - cash_out_fen  as net_cash_fen
    from postings
    group by unit_id, business_date, transaction_kind
)

select * from final
