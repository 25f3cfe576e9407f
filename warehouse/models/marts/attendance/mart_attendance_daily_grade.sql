{{ config(order_by='(school_id, attendance_date, grade)') }}
-- 考勤日报 per grade per school day: how many students, and how many late, left early or absent.
with students as (
    select * from {{ ref('mart_attendance_daily_student') }}
),

final as (
    select
        concat(school_id, ':', toString(attendance_date), ':', toString(grade)) as attendance_key,
        school_id,
        attendance_date,
        grade,
        count()                        as students,
        countIf(not is_absent)         as present,
        countIf(is_late)               as late,
        countIf(is_early_leave)        as early_leave,
        countIf(is_absent)             as absent
    from students
    group by school_id, attendance_date, grade
)

select * from final
