{{ config(order_by='(merchant_id, business_date, meal_period)') }}
-- 餐次报表 / 期报: a merchant's takings per day and meal period; the report API sums any date range of it.
with transactions as (
    {{ merchant_transactions() }}
),

takings as (
    select
        merchant_id,
        business_date,
        meal_period,
        any(school_id) as school_id,
{{ merchant_takings_columns() }}
    from transactions
    group by merchant_id, business_date, meal_period
),

final as (
    select
        concat(merchant_id, ':', toString(business_date), ':', meal_period) as merchant_day_meal_key,
        *
    from takings
)

select * from final
