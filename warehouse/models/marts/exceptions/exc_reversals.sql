{{ config(order_by='(business_date, transaction_id)') }}
-- 冲帐 and refunds, each beside the transaction it undid.
with transactions as (
    select * from {{ ref('stg_onecard_ledger_transactions') }}
),

corrections as (
    select * from transactions
    where transaction_kind in ('reversal', 'refund')
),

-- Only the transactions that were undone, so the join's build side stays small.
originals as (
    select * from transactions
    where transaction_id in (select original_transaction_id from corrections)
),

final as (
    select
        corrections.transaction_id               as transaction_id,
        corrections.transaction_kind             as transaction_kind,
        corrections.business_date                as business_date,
        corrections.school_id                    as school_id,
        corrections.merchant_id                  as merchant_id,
        corrections.card_no                      as card_no,
        corrections.amount_fen                   as amount_fen,
        corrections.created_at                   as booked_at,
        corrections.detail                       as detail,
        corrections.original_transaction_id      as original_transaction_id,
        originals.transaction_kind               as original_kind,
        originals.amount_fen                     as original_amount_fen,
        originals.business_date                  as original_business_date,
        dateDiff('day', originals.business_date, corrections.business_date) as days_after_original
    from corrections
    left join originals on originals.transaction_id = corrections.original_transaction_id
)

select * from final
