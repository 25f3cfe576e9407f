{{ config(order_by='(unit_id, business_date, subject_code)') }}
-- 财务报表: debits and credits per accounting unit, day and account subject (科目).
with postings as (
    select * from {{ ref('stg_onecard_ledger_postings') }}
),

final as (
    select
        concat(unit_id, ':', toString(business_date), ':', subject_code) as unit_day_subject_key,
        unit_id,
        business_date,
        subject_code,
        count()                       as postings,
        uniqExact(transaction_id)     as transactions,
        sum(debit_fen)                as debit_fen,
        sum(credit_fen)               as credit_fen,
        sum(amount_fen)               as net_debit_fen
    from postings
    group by unit_id, business_date, subject_code
)

select * from final
