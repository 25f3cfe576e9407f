-- Postings, signed (debit positive, credit negative), with the account they hit.
with source as (
    select * from {{ source('onecard', 'ledger_postings') }} final
),

final as (
    select
        posting_id,
        transaction_id,
        business_date,
        kind                                      as transaction_kind,
        account_id,
        subject_code,
        unit_id,
        merchant_id,
        cardholder_id,
        wallet_kind,
        amount_fen,
        if(amount_fen > 0, amount_fen, 0)         as debit_fen,
        if(amount_fen < 0, -amount_fen, 0)        as credit_fen
    from source
)

select * from final
