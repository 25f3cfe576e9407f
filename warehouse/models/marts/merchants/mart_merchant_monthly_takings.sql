{{ config(order_by='(merchant_id, business_month)') }}
-- 商户月报: a merchant's takings per calendar month, counted across all its terminals.
with transactions as (
    {{ merchant_transactions() }}
),

merchants as (
    select * from {{ ref('stg_onecard_merchants') }}
),

takings as (
    select
        merchant_id,
        business_month,
        any(school_id) as transaction_school_id,
{{ merchant_takings_columns() }}
    from transactions
    group by merchant_id, business_month
),

final as (
    select
        concat(takings.merchant_id, ':', toString(business_month))                                  as merchant_period_key,
        takings.merchant_id                                                          as merchant_id,
        merchants.merchant_name                                                      as merchant_name,
        if(merchants.school_id != '', merchants.school_id, takings.transaction_school_id) as school_id,
        takings.business_month                                                                as business_month,
        takings.purchases, takings.purchase_fen, takings.offline_purchases, takings.offline_purchase_fen,
        takings.refunds, takings.refund_fen, takings.reversals, takings.reversal_fen,
        takings.net_takings_fen, takings.customers
    from takings
    left join merchants on merchants.merchant_id = takings.merchant_id
)

select * from final
