{{ config(order_by='(school_id, business_month, merchant_id)') }}
-- 商户营业状况分析: each merchant's month beside its school's and its own previous month.
with monthly as (
    select * from {{ ref('mart_merchant_monthly_takings') }}
),

final as (
    select
        merchant_period_key,
        merchant_id,
        merchant_name,
        school_id,
        business_month,
        purchases,
        net_takings_fen,
        customers,
        if(purchases > 0, intDiv(purchase_fen, purchases), 0)                           as average_ticket_fen,
        sum(net_takings_fen) over (partition by school_id, business_month)               as school_takings_fen,
        if(school_takings_fen != 0, intDiv(net_takings_fen * 1000, school_takings_fen), 0) as share_of_school_permille,
        lagInFrame(net_takings_fen, 1, 0) over (
            partition by merchant_id order by business_month
            rows between unbounded preceding and unbounded following
        )                                                                                as previous_month_takings_fen,
        net_takings_fen - previous_month_takings_fen                                     as change_from_previous_fen
    from monthly
)

select * from final
