{{ config(order_by='(business_date, terminal_id, transaction_id)') }}
-- POS机脱机消费: purchases recorded offline on the card and uploaded later, with how late they arrived.
with offline as (
    select * from {{ ref('stg_onecard_ledger_transactions') }}
    where transaction_kind = 'offline_purchase'
),

final as (
    select
        transaction_id,
        business_date,
        school_id,
        merchant_id,
        terminal_id,
        terminal_seq,
        card_no,
        cardholder_id,
        amount_fen,
        created_at                                              as uploaded_at,
        toInt64OrZero(JSONExtractString(detail, 'shortfallFen')) as shortfall_fen,
        dateDiff('day', business_date, toDate(created_at, 'Asia/Shanghai')) as days_to_upload
    from offline
)

select * from final
