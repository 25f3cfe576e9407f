-- The days each school's terminals recorded each kind of swipe. Read without FINAL on purpose: every copy
-- of a swipe carries the same school, date and kind, so the distinct set is the same, and the table's
-- sort key (school_id, swipe_date, kind, ...) answers it from three key columns instead of collapsing
-- every swipe first.
with source as (
    select school_id, swipe_date, kind from {{ source('onecard', 'swipes') }}
),

final as (
    select
        concat(school_id, ':', toString(swipe_date), ':', kind) as school_day_kind_key,
        school_id,
        swipe_date,
        kind                                                    as swipe_kind
    from source
    group by school_id, swipe_date, kind
)

select * from final
