-- Card-vs-database findings as the money core reported them.
with source as (
    select * from {{ source('onecard', 'purse_reports') }} final
),

final as (
    select
        report_id,
        card_no,
        kind              as finding_kind,
        record_key,
        detail,
        report_date,
        created_at
    from source
)

select * from final
