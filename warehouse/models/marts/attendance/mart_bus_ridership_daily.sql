{{ config(order_by='(school_id, swipe_date, terminal_id)') }}
-- 校车: boardings, alightings and riders per bus reader per day.
with swipes as (
    select * from {{ ref('stg_onecard_swipes') }}
    where swipe_kind in ('bus_on', 'bus_off')
),

final as (
    select
        concat(terminal_id, ':', toString(swipe_date))   as bus_day_key,
        school_id,
        swipe_date,
        terminal_id,
        countIf(swipe_kind = 'bus_on')                   as boardings,
        countIf(swipe_kind = 'bus_off')                  as alightings,
        uniqExact(cardholder_id)                         as riders,
        min(swiped_at)                                   as first_swipe_at,
        max(swiped_at)                                   as last_swipe_at
    from swipes
    group by school_id, swipe_date, terminal_id
)

select * from final
