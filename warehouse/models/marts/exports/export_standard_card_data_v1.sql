{{ config(order_by='(school_id, report_month)') }}
-- 上报: the standard school card data, version 1 (docs: warehouse/ANALYSTS.md, "上报"). Columns and their
-- meaning never change within a version; a change is a new model export_standard_card_data_v2.
with schools as (
    select * from {{ ref('stg_onecard_schools') }}
),

cardholders as (
    select school_id, countIf(cardholder_kind = 'student') as students, countIf(cardholder_kind = 'staff') as staff
    from {{ ref('stg_onecard_cardholders') }}
    group by school_id
),

money as (
    select
        school_id,
        business_month                                                         as report_month,
        sumIf(amount_fen, transaction_kind in ('purchase', 'offline_purchase')) as purchase_fen,
        countIf(transaction_kind in ('purchase', 'offline_purchase'))           as purchases,
        sumIf(amount_fen, transaction_kind = 'top_up')                          as top_up_fen,
        sumIf(amount_fen, transaction_kind = 'subsidy_issue')                   as subsidy_fen
    from {{ ref('stg_onecard_ledger_transactions') }}
    where school_id != ''
    group by school_id, business_month
),

attendance as (
    select
        school_id,
        toStartOfMonth(attendance_date)  as report_month,
        uniqExact(attendance_date)       as school_days,
        sum(students)                    as student_days,
        sum(present)                     as present_days,
        sum(late)                        as late_days,
        sum(absent)                      as absent_days
    from {{ ref('mart_attendance_daily_school') }}
    group by school_id, report_month
),

months as (
    select school_id, report_month from money
    union distinct
    select school_id, report_month from attendance
),

final as (
    select
        'v1'                                                   as schema_version,
        concat(months.school_id, ':', toString(months.report_month)) as school_month_key,
        months.school_id                                       as school_id,
        schools.school_name                                    as school_name,
        schools.district                                       as district,
        schools.school_kind                                    as school_kind,
        months.report_month                                    as report_month,
        cardholders.students                                   as students,
        cardholders.staff                                      as staff,
        money.purchases                                        as purchases,
        money.purchase_fen                                     as purchase_fen,
        money.top_up_fen                                       as top_up_fen,
        money.subsidy_fen                                      as subsidy_fen,
        attendance.school_days                                 as school_days,
        attendance.student_days                                as student_days,
        attendance.present_days                                as present_days,
        attendance.late_days                                   as late_days,
        attendance.absent_days                                 as absent_days
    from months
    left join schools on schools.school_id = months.school_id
    left join cardholders on cardholders.school_id = months.school_id
    left join money on money.school_id = months.school_id and money.report_month = months.report_month
    left join attendance on attendance.school_id = months.school_id and attendance.report_month = months.report_month
)

select * from final
