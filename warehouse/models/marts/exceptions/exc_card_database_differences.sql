{{ config(order_by='(report_date, card_no, report_id)') }}
-- 卡库不平 and other purse findings, with the cardholder and school they concern.
with reports as (
    select * from {{ ref('stg_onecard_purse_reports') }}
),

cards as (
    select * from {{ ref('stg_onecard_cards') }}
),

cardholders as (
    select * from {{ ref('stg_onecard_cardholders') }}
),

final as (
    select
        reports.report_id              as report_id,
        reports.report_date            as report_date,
        reports.finding_kind           as finding_kind,
        reports.card_no                as card_no,
        cards.cardholder_id            as cardholder_id,
        cardholders.school_id          as school_id,
        cardholders.cardholder_name    as cardholder_name,
        reports.record_key             as record_key,
        reports.detail                 as detail,
        reports.created_at             as reported_at
    from reports
    left join cards on cards.card_no = reports.card_no
    left join cardholders on cardholders.cardholder_id = cards.cardholder_id
)

select * from final
