{{ config(order_by='(school_id, business_month, cardholder_id)') }}
-- 持卡人综合消费水平分析: each cardholder's spending in a month, by meal period, with their school and class.
with purchases as (
    select * from {{ ref('stg_onecard_ledger_transactions') }}
    where transaction_kind in ('purchase', 'offline_purchase') and cardholder_id != 0
),

cardholders as (
    select * from {{ ref('stg_onecard_cardholders') }}
),

spending as (
    select
        cardholder_id,
        business_month,
        any(school_id)                                       as transaction_school_id,
        count()                                              as purchases,
        sum(amount_fen)                                      as spend_fen,
        uniqExact(business_date)                             as days_with_purchases,
        uniqExact(merchant_id)                               as merchants_used,
        sumIf(amount_fen, meal_period = 'breakfast')         as breakfast_fen,
        sumIf(amount_fen, meal_period = 'lunch')             as lunch_fen,
        sumIf(amount_fen, meal_period = 'dinner')            as dinner_fen,
        sumIf(amount_fen, meal_period not in ('breakfast', 'lunch', 'dinner')) as other_fen,
        max(amount_fen)                                      as largest_purchase_fen
    from purchases
    group by cardholder_id, business_month
),

final as (
    select
        concat(toString(spending.cardholder_id), ':', toString(spending.business_month)) as cardholder_month_key,
        if(cardholders.school_id != '', cardholders.school_id, spending.transaction_school_id) as school_id,
        spending.business_month                                    as business_month,
        spending.cardholder_id                                     as cardholder_id,
        cardholders.cardholder_name                                as cardholder_name,
        cardholders.cardholder_kind                                as cardholder_kind,
        ifNull(cardholders.grade, -1)                              as grade,
        cardholders.class_name                                     as class_name,
        spending.purchases                                         as purchases,
        spending.spend_fen                                         as spend_fen,
        intDiv(spending.spend_fen, spending.purchases)             as average_purchase_fen,
        intDiv(spending.spend_fen, spending.days_with_purchases)   as average_day_fen,
        spending.days_with_purchases                               as days_with_purchases,
        spending.merchants_used                                    as merchants_used,
        spending.breakfast_fen                                     as breakfast_fen,
        spending.lunch_fen                                         as lunch_fen,
        spending.dinner_fen                                        as dinner_fen,
        spending.other_fen                                         as other_fen,
        spending.largest_purchase_fen                              as largest_purchase_fen
    from spending
    left join cardholders on cardholders.cardholder_id = spending.cardholder_id
)

select * from final
