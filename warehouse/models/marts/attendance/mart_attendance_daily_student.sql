{{ config(order_by='(school_id, attendance_date, grade, class_name, cardholder_id)') }}
-- 日考勤: each student on each school day, from gate and class swipes. A school day is a day the school's
-- gates or class readers recorded anything; the late and early-leave times are the project's vars.
with swipes as (
    select * from {{ ref('stg_onecard_swipes') }}
    where swipe_kind in ('gate_in', 'gate_out', 'class')
),

students as (
    select * from {{ ref('stg_onecard_cardholders') }}
    where cardholder_kind = 'student'
),

school_days as (
    select school_id, swipe_date as attendance_date
    from swipes
    group by school_id, swipe_date
),

presence as (
    select
        school_id,
        swipe_date                                                      as attendance_date,
        cardholder_id,
        countIf(swipe_kind in ('gate_in', 'class'))                     as arrivals,
        countIf(swipe_kind = 'gate_out')                                as departures,
        countIf(swipe_kind = 'class')                                   as class_swipes,
        minIf(swipe_minute_of_day, swipe_kind in ('gate_in', 'class'))  as first_in_minute,
        maxIf(swipe_minute_of_day, swipe_kind = 'gate_out')             as last_out_minute
    from swipes
    where cardholder_id != 0
    group by school_id, swipe_date, cardholder_id
),

final as (
    select
        concat(toString(students.cardholder_id), ':', toString(school_days.attendance_date)) as student_day_key,
        school_days.school_id                                           as school_id,
        school_days.attendance_date                                     as attendance_date,
        ifNull(students.grade, -1)                                      as grade,
        students.class_name                                             as class_name,
        students.cardholder_id                                          as cardholder_id,
        students.person_no                                              as person_no,
        students.cardholder_name                                        as cardholder_name,
        presence.arrivals                                               as arrivals,
        presence.departures                                             as departures,
        presence.class_swipes                                           as class_swipes,
        if(presence.arrivals > 0, presence.first_in_minute, null)       as first_in_minute,
        if(presence.departures > 0, presence.last_out_minute, null)     as last_out_minute,
        presence.arrivals > 0
            and presence.first_in_minute > {{ var('attendance_late_after_minute') }}          as is_late,
        presence.departures > 0
            and presence.last_out_minute < {{ var('attendance_early_leave_before_minute') }}  as is_early_leave,
        presence.arrivals = 0 and presence.departures = 0               as is_absent
    from school_days
    inner join students on students.school_id = school_days.school_id
    left join presence
        on presence.school_id = school_days.school_id
        and presence.attendance_date = school_days.attendance_date
        and presence.cardholder_id = students.cardholder_id
)

select * from final
