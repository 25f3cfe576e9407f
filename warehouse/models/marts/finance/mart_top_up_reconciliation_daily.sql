{{ config(order_by='(unit_id, business_date)') }}
-- 圈存对账: each day's top-ups as the transactions state them, against what the postings moved into wallets
-- and out of cash or bank clearing. A non-zero difference means the two streams disagree for that day.
with transactions as (
    select * from {{ ref('stg_onecard_ledger_transactions') }}
    where transaction_kind = 'top_up'
),

postings as (
    select * from {{ ref('stg_onecard_ledger_postings') }}
    where transaction_kind = 'top_up'
),

movements as (
    select school_id as unit_id, business_date, toInt64(amount_fen) as stated_fen,
           toInt64(0) as wallet_credit_fen, toInt64(0) as source_debit_fen, toUInt64(1) as top_ups
    from transactions
    union all
    select unit_id, business_date, toInt64(0),
           toInt64(if(startsWith(subject_code, '2001'), credit_fen - debit_fen, 0)),
           toInt64(if(subject_code in ('1001', '1002'), debit_fen - credit_fen, 0)),
           toUInt64(0)
    from postings
),

final as (
    select
        concat(unit_id, ':', toString(business_date))      as unit_day_key,
        unit_id,
        business_date,
        sum(top_ups)                                       as top_ups,
        sum(stated_fen)                                    as stated_fen,
        sum(wallet_credit_fen)                             as wallet_credit_fen,
        sum(source_debit_fen)                              as source_debit_fen,
        stated_fen - wallet_credit_fen                     as wallet_difference_fen,
        stated_fen - source_debit_fen                      as source_difference_fen,
        wallet_difference_fen = 0 and source_difference_fen = 0 as reconciled
    from movements
    group by unit_id, business_date
)

select * from final
