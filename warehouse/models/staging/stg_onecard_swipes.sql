-- Swipes as recorded, one copy per terminal record (FINAL collapses the relay's repeated deliveries).
-- Copies of a swipe share its swipe_date, so they share a month partition: FINAL need not merge across
-- partitions, and collapses each month on its own thread.
with source as (
    select * from {{ source('onecard', 'swipes') }} final
    settings do_not_merge_across_partitions_select_final = 1
),

final as (
    select
        concat(terminal_id, ':', toString(terminal_seq))             as swipe_key,
        event_id,
        school_id,
        swipe_date,
        kind                                                         as swipe_kind,
        terminal_id,
        terminal_seq,
        card_no,
        cardholder_id,
        swiped_at,
        toHour(toTimeZone(swiped_at, 'Asia/Shanghai')) * 60
            + toMinute(toTimeZone(swiped_at, 'Asia/Shanghai'))       as swipe_minute_of_day,
        received_at
    from source
)

select * from final
