-- The ledger's totals per business date and kind, the latest load of each day.
with source as (
    select * from {{ source('onecard', 'ledger_daily_totals') }} final
),

final as (
    select
        concat(toString(business_date), ':', kind)   as day_kind_key,
        business_date,
        kind                                         as transaction_kind,
        transactions,
        amount_fen
    from source
)

select * from final
