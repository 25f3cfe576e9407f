{{ config(order_by='(business_date, transaction_kind)') }}
-- The money check: for every day the ledger's totals were loaded, the warehouse's transactions per kind
-- against the ledger's own count and sum.
with ledger as (
    select * from {{ ref('stg_onecard_ledger_daily_totals') }}
),

warehouse as (
    select business_date, transaction_kind, toInt64(count()) as transactions, toInt64(sum(amount_fen)) as amount_fen
    from {{ ref('stg_onecard_ledger_transactions') }}
    where business_date in (select business_date from ledger)
    group by business_date, transaction_kind
),

both_sides as (
    select business_date, transaction_kind, toInt64(transactions) as ledger_transactions, toInt64(amount_fen) as ledger_amount_fen,
           toInt64(0) as warehouse_transactions, toInt64(0) as warehouse_amount_fen
    from ledger
    union all
    select business_date, transaction_kind, toInt64(0), toInt64(0), transactions, amount_fen
    from warehouse
),

final as (
    select
        concat(toString(business_date), ':', transaction_kind)  as day_kind_key,
        business_date,
        transaction_kind,
        sum(ledger_transactions)                                 as ledger_transactions,
        sum(warehouse_transactions)                              as warehouse_transactions,
        sum(ledger_amount_fen)                                   as ledger_amount_fen,
        sum(warehouse_amount_fen)                                as warehouse_amount_fen,
        warehouse_amount_fen - ledger_amount_fen                 as difference_fen
    from both_sides
    group by business_date, transaction_kind
)

select * from final
