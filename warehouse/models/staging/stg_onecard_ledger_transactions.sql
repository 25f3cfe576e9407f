-- Money events, one copy per ledger transaction.
with source as (
    select * from {{ source('onecard', 'ledger_transactions') }} final
),

final as (
    select
        transaction_id,
        event_id,
        kind                                      as transaction_kind,
        amount_fen,
        school_id,
        business_date,
        toStartOfMonth(business_date)             as business_month,
        merchant_id,
        terminal_id,
        card_no,
        cardholder_id,
        meal_period,
        original_transaction_id,
        original_kind,
        method                                    as top_up_method,
        batch_id                                  as subsidy_batch_id,
        terminal_seq,
        created_at,
        detail
    from source
)

select * from final
