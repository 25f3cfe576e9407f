-- The latest version of each cardholder row, from the dimension changes the outbox carried.
with source as (
    select * from {{ source('onecard', 'dimension_changes') }} final
    where entity = 'cardholders'
),

latest as (
    select
        entity_key,
        argMax(row, event_id)   as row,
        max(changed_at)         as changed_at
    from source
    group by entity_key
),

final as (
    select
        toUInt64(entity_key)                                                   as cardholder_id,
        JSONExtractString(row, 'school_id')                                    as school_id,
        JSONExtractString(row, 'kind')                                         as cardholder_kind,
        JSONExtractString(row, 'person_no')                                    as person_no,
        JSONExtractString(row, 'name')                                         as cardholder_name,
        JSONExtractString(row, 'gender')                                       as gender,
        JSONExtract(row, 'grade', 'Nullable(Int16)')                           as grade,
        ifNull(JSONExtract(row, 'class_name', 'Nullable(String)'), '')         as class_name,
        ifNull(JSONExtract(row, 'batch_code', 'Nullable(String)'), '')         as batch_code,
        changed_at
    from latest
)

select * from final
