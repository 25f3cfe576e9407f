{{ config(order_by='(school_id, swipe_date, cardholder_id)') }}
-- 宿舍考勤: who came back to the dorm in the evening, and when, per boarder per day.
with swipes as (
    select * from {{ ref('stg_onecard_swipes') }}
    where swipe_kind in ('dorm_in', 'dorm_out') and cardholder_id != 0
),

cardholders as (
    select * from {{ ref('stg_onecard_cardholders') }}
),

nights as (
    select
        school_id,
        swipe_date,
        cardholder_id,
        countIf(swipe_kind = 'dorm_in' and swipe_minute_of_day >= {{ var('dorm_evening_from_minute') }})     as evening_entries,
        minIf(swipe_minute_of_day, swipe_kind = 'dorm_in' and swipe_minute_of_day >= {{ var('dorm_evening_from_minute') }}) as first_evening_minute,
        argMax(swipe_kind, swiped_at)                                                                    as last_swipe_kind
    from swipes
    group by school_id, swipe_date, cardholder_id
),

final as (
    select
        concat(toString(nights.cardholder_id), ':', toString(nights.swipe_date))   as cardholder_day_key,
        nights.school_id                                                          as school_id,
        nights.swipe_date                                                         as swipe_date,
        nights.cardholder_id                                                      as cardholder_id,
        cardholders.cardholder_name                                               as cardholder_name,
        ifNull(cardholders.grade, -1)                                             as grade,
        cardholders.class_name                                                    as class_name,
        nights.evening_entries > 0                                                as returned,
        if(nights.evening_entries > 0, nights.first_evening_minute, null)        as returned_at_minute,
        nights.evening_entries > 0
            and nights.first_evening_minute > {{ var('dorm_curfew_minute') }}    as returned_late,
        nights.last_swipe_kind = 'dorm_in'                                        as inside_after_last_swipe
    from nights
    left join cardholders on cardholders.cardholder_id = nights.cardholder_id
)

select * from final
