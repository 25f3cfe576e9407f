{{ config(order_by='(school_id, attendance_date, grade, class_name, cardholder_id)') }}
-- 日考勤: each student on each school day, from gate and class swipes. A school day is a day the school's
-- gates or class readers recorded anything; the late and early-leave times are the project's vars.
-- One aggregation instead of a join: the roll (every student on every school day of their school, no
-- swipe) and the students' own swipes there go into one GROUP BY student and day, keyed by two fixed-width
-- columns (a student's school follows from the student), so no hash table of millions of string keys is
-- built twice; the school days come from stg_onecard_swipe_days, so the swipes are collapsed (FINAL) once.
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
    from {{ ref('stg_onecard_swipe_days') }}
    where swipe_kind in ('gate_in', 'gate_out', 'class')
    group by school_id, swipe_date
),

roll as (
    select
        students.cardholder_id          as cardholder_id,
        school_days.attendance_date     as attendance_date,
        toUInt8(0)                      as is_arrival,
        toUInt8(0)                      as is_departure,
        toUInt8(0)                      as is_class,
        toUInt16(0)                     as minute_of_day
    from school_days
    inner join students on students.school_id = school_days.school_id
),

own_swipes as (
    select
        cardholder_id,
        swipe_date                                  as attendance_date,
        toUInt8(swipe_kind in ('gate_in', 'class')) as is_arrival,
        toUInt8(swipe_kind = 'gate_out')            as is_departure,
        toUInt8(swipe_kind = 'class')               as is_class,
        toUInt16(swipe_minute_of_day)               as minute_of_day
    from swipes
    where cardholder_id != 0
        and (school_id, cardholder_id) in (select school_id, cardholder_id from students)
),

presence as (
    select
        cardholder_id,
        attendance_date,
        sum(is_arrival)                             as arrivals,
        sum(is_departure)                           as departures,
        sum(is_class)                               as class_swipes,
        minIf(minute_of_day, is_arrival = 1)        as first_in_minute,
        maxIf(minute_of_day, is_departure = 1)      as last_out_minute
    from (
        select * from roll
        union all
        select * from own_swipes
    )
    group by cardholder_id, attendance_date
),

final as (
    select
        concat(toString(students.cardholder_id), ':', toString(presence.attendance_date)) as student_day_key,
        students.school_id                                              as school_id,
        presence.attendance_date                                        as attendance_date,
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
    from presence
    inner join students on students.cardholder_id = presence.cardholder_id
)

select * from final
